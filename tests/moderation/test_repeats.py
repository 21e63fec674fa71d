from datetime import datetime, timedelta

from moderation.filter import ModerationFilter

T = datetime(2026, 1, 10, 9, 0)
TEXT = "На улице Ленина 5 не горит фонарь уже неделю, вечером темно и страшно ходить"


def test_duplicate_repeat_answered_and_accepted_repeat():
    f = ModerationFilter()
    assert f.moderate("1", "tg:1", TEXT, T).decision == "accept"
    dup = f.moderate("2", "tg:1", TEXT + "!", T + timedelta(hours=1))
    assert (dup.decision, dup.reasons, dup.repeat_of) == ("drop", ["duplicate"], "1")
    assert f.moderate("3", "tg:2", TEXT, T).decision == "accept"  # another author is not a duplicate
    f.mark_answered("1")
    again = f.moderate("4", "tg:1", "Снова на улице Ленина 5 не горит фонарь, темно и страшно ходить", T + timedelta(days=9))
    assert (again.decision, again.repeat_of) == ("accept", "1")  # its answer must report the measures
    f.mark_answered("4")
    third = f.moderate("5", "tg:1", "На улице Ленина 5 опять не горит фонарь, темно страшно ходить", T + timedelta(days=20))
    assert (third.decision, third.reasons) == ("drop", ["repeat_answered"])
    new_args = f.moderate("6", "tg:1", "Фонарь на Ленина 5 так и не горит, а теперь ещё и провод оборван висит "
                          "над детской площадкой, это опасно для детей", T + timedelta(days=21))
    assert new_args.decision == "accept"  # new arguments: processed again


def test_same_message_processed_twice_is_not_its_own_duplicate():
    f = ModerationFilter()
    assert f.moderate("1", "a", TEXT, T).decision == "accept"
    assert f.moderate("1", "a", TEXT, T).decision == "accept"


def test_moderate_cli(tmp_path):
    import json
    import subprocess
    import sys

    lines = [{"id": 1, "author": "a", "text": TEXT}, {"id": 2, "author": "a", "text": TEXT},
             {"id": 3, "author": "b", "text": "вы все дебилы"}, {"oops": True}]
    r = subprocess.run([sys.executable, "-m", "otklik", "moderate"], input="\n".join(map(json.dumps, lines)),
                       capture_output=True, text=True, timeout=60)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o["decision"] for o in out] == ["accept", "drop", "drop"]
    assert out[1]["repeat_of"] == "1" and out[2]["reasons"] == ["insult"]
    assert r.returncode == 1 and "line 4" in r.stderr
