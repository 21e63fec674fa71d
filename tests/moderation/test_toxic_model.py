"""The learned toxic-comment model scores word by word exactly as it was trained on whole texts."""

import numpy as np
import pytest

from moderation.normalizer import normalize_text
from moderation.toxic_model import ToxicModel, load
from moderation.toxic_train import matrix
from otklik.exceptions import ConfigError

TOXIC = ["ты насекомое и паразит", "сам ты паразит безмозглый", "насекомое безмозглое, молчи"]
CLEAN = ["во дворе не убран снег", "когда починят фонарь у дома", "спасибо за ответ, всё сделали"]


def test_word_by_word_score_equals_the_trained_linear_model(tmp_path):
    from sklearn.linear_model import LogisticRegression

    x = matrix(TOXIC + CLEAN)
    lr = LogisticRegression(C=10).fit(x, [1, 1, 1, 0, 0, 0])
    model = ToxicModel(lr.coef_[0].astype(np.float32), float(lr.intercept_[0]), 0.0)
    expected = lr.decision_function(matrix(["ну ты и паразит", "снег у дома"]))
    got = [model.score(normalize_text(t))[0] for t in ("ну ты и паразит", "снег у дома")]
    assert got == pytest.approx(expected, abs=1e-4)
    score, span = model.score("ну ты и паразит")
    assert score > 0 and "ну ты и паразит"[span[0] : span[1]] == "паразит"
    model.save(tmp_path / "m.npz")
    again = load(str(tmp_path / "m.npz"))
    assert again.score("ну ты и паразит")[0] == pytest.approx(score, abs=1e-4)


def test_missing_model_is_none_and_a_wrong_format_is_refused(tmp_path):
    assert load(str(tmp_path / "none.npz")) is None
    np.savez(tmp_path / "old.npz", format=np.array(0), weights=np.zeros(4), bias=np.array(0.0), threshold=np.array(0.0))
    with pytest.raises(ConfigError, match="retrain"):
        load(str(tmp_path / "old.npz"))
