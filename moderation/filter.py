"""The moderation filter: text rules, then repeats. Pure apart from the in-memory index it keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moderation.lexicon import Lexicon
from moderation.profile import ModerationProfile
from moderation.repeats import PAIR, Features, RepeatIndex, RepeatMatch, probe_of_normalized, probe_of_text
from moderation.rules import check_text, check_text_normalized
from moderation.verdict import Span, Verdict

__all__ = ["ModerationFilter", "RepeatIndex", "Span", "Verdict", "check_text"]


class ModerationFilter:
    def __init__(self, profile: ModerationProfile | None = None, index: RepeatIndex | None = None) -> None:
        self.profile = profile or ModerationProfile()
        self.lexicon = Lexicon.load(*self.profile.extra_lexicons)
        self.index = index if index is not None else RepeatIndex()
        self.window = timedelta(hours=self.profile.duplicate_window_hours)

    def moderate(self, msg_id: str, author: str, text: str, created_at: datetime | None = None) -> Verdict:
        """Text rules, then repeats of the same author's earlier messages; records the message."""
        verdict, norm = check_text_normalized(text, self.lexicon)
        probe = probe_of_text(text) if norm is None else probe_of_normalized(norm)
        # A message seen before (a retry after a crash) is judged against what came before it,
        # so the same input gets the same verdict and never repeats itself.
        seen = msg_id in self.index
        similar = self.index.find(
            author,
            probe,
            self.profile.problem_similarity,
            self.profile.duplicate_similarity,
            before=msg_id if seen else None,
        )
        if not seen:
            self.index.add_features(msg_id, author, probe, created_at)
        if verdict.decision == "drop" or not similar:  # most messages: no earlier look-alike
            return verdict
        return self._repeat_verdict(similar, probe.feats, created_at) or verdict

    def _repeat_verdict(
        self, similar: list[RepeatMatch], feats: Features, created_at: datetime | None
    ) -> Verdict | None:
        duplicate = next(
            (
                m
                for m in similar
                if m.similarity >= self.profile.duplicate_similarity
                and not m.answered
                and self._within_window(m, created_at)
            ),
            None,
        )
        if duplicate is not None:
            return Verdict(decision="drop", reasons=["duplicate"], repeat_of=duplicate.msg_id)
        answered = [
            m
            for m in similar
            if m.answered
            and m.problem_similarity >= self.profile.problem_similarity
            or m.answered
            and m.similarity >= self.profile.duplicate_similarity
        ]
        if not answered:
            return None
        latest = max(
            answered, key=lambda m: (m.created_at is not None, _as_utc_naive(m.created_at), m.msg_id)
        )
        # New arguments: words the answered messages did not have (pairs only rephrase them).
        known = set().union(*(m.features for m in answered))
        words = [f for f in feats if f & 3 != PAIR]
        new_share = sum(1 for f in words if f not in known) / max(1, len(words))
        if (
            self.profile.repeat_answered_not_processed
            and len(answered) >= self.profile.repeat_answered_after
            and new_share < self.profile.new_arguments_share
        ):
            return Verdict(decision="drop", reasons=["repeat_answered"], repeat_of=latest.msg_id)
        # A repeat of a considered question: processed, and its answer must report the measures taken.
        return Verdict(decision="accept", repeat_of=latest.msg_id)

    def _within_window(self, match: RepeatMatch, created_at: datetime | None) -> bool:
        if created_at is None or match.created_at is None:
            return True
        try:
            return abs(created_at - match.created_at) <= self.window
        except TypeError:  # one naive, one aware: compare as if both were UTC
            return abs(created_at.replace(tzinfo=None) - match.created_at.replace(tzinfo=None)) <= self.window

    def mark_answered(self, msg_id: str) -> None:
        self.index.mark_answered(msg_id)


def _as_utc_naive(t: datetime | None) -> datetime:
    """A time to order by: an aware one in UTC, a naive one as if it were UTC (as `_within_window`
    takes it), so naive and aware times of one author's answered messages compare instead of
    raising TypeError; the order among times of one kind is unchanged."""
    if t is None:
        return datetime.min
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)
