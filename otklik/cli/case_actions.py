"""`otklik cases term|final-term|responsible|input|repeat|importance|location|close`: the regulated
actions of otklik/services/case_actions.py from a terminal, as the logged-in user (audited under
them), the same service functions as the API."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from otklik.services import case_actions, cases


def register(acts: argparse._SubParsersAction, identity) -> None:
    def add(name: str, help_: str) -> argparse.ArgumentParser:
        a = acts.add_parser(name, help=help_)
        a.add_argument("id", type=int)
        identity(a)
        a.set_defaults(func=cmd_action, action=name)
        return a

    add("term", "shorten the answer term (000 §10, §18; 001 §8)").add_argument(
        "answer_by", type=datetime.fromisoformat, help="ISO 8601; without an offset, the municipality's time")
    add("final-term", "agree the final term of a high-importance case (002 §13)").add_argument(
        "final_by", type=datetime.fromisoformat)
    add("responsible", "name the responsible executor (writes the joint answer)").add_argument("department")
    inp = add("input", "a co-executor's input for the joint answer")
    inp.add_argument("text")
    inp.add_argument("--department", help="the co-executor department (curators name it)")
    rep = add("repeat", "decide whether it repeats an earlier message («Камчатка в порядке» §2.9)")
    group = rep.add_mutually_exclusive_group(required=True)
    group.add_argument("--of", type=int, dest="repeat_of", help="the earlier case")
    group.add_argument("--none", action="store_true", help="not a repeat")
    add("importance", "set the importance").add_argument("importance", choices=("normal", "high"))
    add("location", "set the place the message is about").add_argument("location")
    enter = acts.add_parser("enter", help="a message found by manual monitoring, with its link (000 §8)")
    enter.add_argument("text")
    enter.add_argument("--link", required=True, help="where the message was found")
    enter.add_argument("--network", required=True, choices=("vk", "ok", "telegram", "max", "web"))
    enter.add_argument("--author", help="the author's name as shown there")
    identity(enter)
    enter.set_defaults(func=cmd_enter)
    close = add("close", "close as not processed, or as forwarded to another body (--to)")
    close.add_argument("reason")
    close.add_argument("--comment", default="")
    close.add_argument("--to", dest="forwarded_to", help="reason forwarded: the body it went to")


def cmd_action(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with

    def go(s, actor):
        a = args.action
        if a == "term":
            case_actions.shorten_term(s, actor, args.id, answer_by=args.answer_by)
        elif a == "final-term":
            case_actions.set_final_term(s, actor, args.id, final_by=args.final_by)
        elif a == "responsible":
            case_actions.set_responsible(s, actor, args.id, responsible=args.department)
        elif a == "input":
            draft = case_actions.coexecutor_input(s, actor, args.id, text=args.text, department=args.department)
            return {"input": draft.id, "department": draft.comment}
        elif a == "repeat":
            case_actions.decide_repeat(s, actor, args.id, repeat_of=None if args.none else args.repeat_of)
        elif a == "importance":
            case_actions.set_importance(s, actor, args.id, importance=args.importance)
        elif a == "location":
            case_actions.set_location(s, actor, args.id, location=args.location)
        elif a == "close":
            case_actions.close(s, actor, args.id, reason=args.reason, comment=args.comment,
                               forwarded_to=args.forwarded_to)
        return cases.as_dict(cases.get(s, args.id))
    print(json.dumps(_with(args, go), ensure_ascii=False))
    return 0


def cmd_enter(args: argparse.Namespace) -> int:
    from otklik.cli.cases import _with
    from otklik.services import manual

    message_id = _with(args, lambda s, actor: manual.enter(s, actor, text=args.text, url=args.link,
                                                           network=args.network, author_name=args.author).id)
    print(json.dumps({"message_id": message_id}, ensure_ascii=False))
    return 0
