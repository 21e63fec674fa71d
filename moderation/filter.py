"""The moderation filter: text rules, then repeats. Pure apart from the in-memory index it keeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from moderation.lexicon import Lexicon
from moderation.profile import ModerationProfile
from moderation.repeats import Entry, RepeatIndex
from moderation.rules import check_text
from moderation.verdict import Span, Verdict

__all__ = ["ModerationFilter", "RepeatIndex", "Span", "Verdict", "check_text"]


class ModerationFilter:
    def __init__(self, profile: ModerationProfile | None = None, index: RepeatIndex | None = None) -> None:
        self.profile = profile or ModerationProfile()
        self.lexicon = Lexicon.load(*self.profile.extra_lexicons)
        self.index = index or RepeatIndex(duplicate_similarity=self.profile.duplicate_similarity,
                                          problem_similarity=self.profile.problem_similarity,
                                          window=timedelta(hours=self.profile.duplicate_window_hours))

    def moderate(self, msg_id: str, author: str, text: str, created_at: datetime | None = None) -> Verdict:
        verdict = check_text(text, self.lexicon)
        if msg_id in self.index.entries:  # processed before (a retry after a crash): same answer
            return verdict
        from moderation.repeats import features, signature, similarity

        feats = features(text)
        sig = signature(feats)
        best_dup: Entry | None = None
        answered_same: list[Entry] = []
        for other in self.index.candidates(author, sig):
            sim = similarity(sig, other.sig)
            if sim >= self.profile.duplicate_similarity and self._within_window(other, created_at):
                if best_dup is None or sim > similarity(sig, best_dup.sig):
                    best_dup = other
            if sim >= self.profile.problem_similarity and other.answered:
                answered_same.append(other)
        self.index.add(msg_id, author, text, created_at)
        if verdict.decision == "drop":
            return verdict
        if best_dup is not None and not best_dup.answered:
            return Verdict(decision="drop", reasons=["duplicate"], repeat_of=best_dup.msg_id)
        if answered_same:
            latest = max(answered_same, key=lambda e: (e.created_at or datetime.min, e.msg_id))
            known = frozenset().union(*(e.feats for e in answered_same))
            new_share = len(feats - known) / max(1, len(feats))
            if len(answered_same) >= self.profile.repeat_answered_after and \
                    new_share < self.profile.new_arguments_share:
                return Verdict(decision="drop", reasons=["repeat_answered"], repeat_of=latest.msg_id)
            return Verdict(decision="accept", repeat_of=latest.msg_id)
        return verdict

    def _within_window(self, other: Entry, created_at: datetime | None) -> bool:
        if created_at is None or other.created_at is None:
            return True
        return abs(created_at - other.created_at) <= self.index.window

    def mark_answered(self, msg_id: str) -> None:
        self.index.mark_answered(msg_id)
