"""Moderation profiles: thresholds for repeats and extra lexicon files, per municipality."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, Field

from otklik.datafile import load_model
from otklik.exceptions import ConfigError

PROFILES = Path(__file__).resolve().parent / "profiles"


class ModerationProfile(BaseModel):
    name: str = "default"
    duplicate_window_hours: float = Field(168, gt=0)  # re-posts within a week are duplicates
    duplicate_similarity: float = Field(0.8, gt=0, le=1)
    problem_similarity: float = Field(0.5, gt=0, le=1)  # share of the shorter text's words
    # 002 §18 ¶2: a question answered several times, asked again with no new arguments, is not
    # processed. Only 002 has this clause; everywhere else a repeat is processed and its answer
    # reports the measures taken (000 §20, 001 §17, 003 §15), so the switch is off by default.
    repeat_answered_not_processed: bool = False
    repeat_answered_after: int = Field(2, ge=1)  # "answered several times": this many answers
    new_arguments_share: float = Field(0.35, gt=0, le=1)  # share of new words that counts as new arguments
    extra_lexicons: list[str] = Field(default_factory=list)  # paths relative to the profile file


def profile_for(regulation_profile: str | None) -> str:
    """The moderation profile of a municipality: the one named like its regulation profile when
    there is one (moskalensky has 002 §18 ¶2), else the default."""
    if regulation_profile and (PROFILES / f"{regulation_profile}.yaml").exists():
        return regulation_profile
    return "default"


@functools.cache
def load_profile(name_or_path: str | None = None) -> ModerationProfile:
    if not name_or_path:
        name_or_path = "default"
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES / f"{name_or_path}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.yaml")))
            raise ConfigError(f"unknown moderation profile {name_or_path!r}; known: {known}")
    profile = load_model(path, ModerationProfile)
    profile.extra_lexicons = [str((path.parent / p).resolve()) for p in profile.extra_lexicons]
    return profile
