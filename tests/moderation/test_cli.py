"""`otklik moderate` and `otklik eval moderation` from the outside, on our own texts."""

import csv
import json
import subprocess
import sys

TEXT = "На улице Ленина 5 не горит фонарь уже неделю, вечером темно и страшно ходить"


def run(args, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "otklik", *args], input=stdin, capture_output=True, timeout=120
    )


def lines(*items) -> bytes:
    return "\n".join(i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items).encode()


def test_moderate_cli_verdicts_repeats_and_bad_lines():
    r = run(
        ["moderate"],
        lines(
            {"id": 1, "author": "a", "text": TEXT, "source": "vk:club1", "answered": True},
            {"id": 2, "author": "a", "text": TEXT, "source": "vk:club2"},  # cross-posted to another community
            {"id": 3, "author": "b", "text": "вы все дебилы"},
            "{not json",
            {"id": 4, "author": "b"},  # no text
            {"id": 5, "author": "b", "text": "Спасибо, фонарь починили!"},
        ),
    )
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3, 5]
    assert [o["decision"] for o in out] == ["accept", "accept", "drop", "accept"]
    assert out[1]["repeat_of"] == "1"  # a repeat of an answered question: accepted, linked
    assert out[2]["reasons"] == ["insult"] and out[2]["spans"][0]["text"] == "дебилы"
    err = r.stderr.decode()
    assert r.returncode == 1 and "line 4" in err and "line 5" in err and "Traceback" not in err


def test_moderate_cli_survives_broken_bytes_and_huge_texts():
    huge = json.dumps({"id": "big", "author": "a", "text": "дорога " * 150_000}).encode()
    broken = b'{"id": "x", "author": "a", "text": "\xff\xfe \xd0 \xd0\xb1\xd0\xbb\xd1\x8f"}'
    surrogate = b'{"id": "s", "author": "a", "text": "\\ud800 \\u0431\\u043b\\u044f"}'
    r = run(["moderate"], b"\n".join([huge, broken, surrogate]))
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [o["decision"] for o in out] == ["accept", "drop", "drop"] and r.returncode == 0, r.stderr


def test_moderate_cli_unknown_profile_is_one_clear_line():
    r = run(["moderate", "--profile", "no-such-town"], lines({"id": 1, "author": "a", "text": TEXT}))
    assert r.returncode == 2 and b"unknown moderation profile" in r.stderr and b"Traceback" not in r.stderr


def _write(path, header, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


def test_eval_moderation_on_a_small_labelled_folder(tmp_path):
    _write(
        tmp_path / "toxicity" / "russian_distorted_toxicity.tsv",
        ["comment_id", "source", "comments", "distortion", "toxicity", "corrected"],
        [
            [1, "x", "ну и пиzдец", 1, 1, "ну и пиздец"],
            [2, "x", "хорошая новость", 0, 0, ""],
            [3, "x", "вы идиоты", 0, 1, ""],
        ],
        delimiter="\t",
    )
    _write(
        tmp_path / "toxicity" / "russe_detox_2022_dev.tsv",
        ["toxic_comment", "neutral_comment1", "neutral_comment2", "neutral_comment3"],
        [["ты дебил", "ты неправ", "", ""], ["да пошёл ты, мудак", "не согласен с тобой", "уходи", ""]],
        delimiter="\t",
    )
    _write(
        tmp_path / "appeals" / "spb_gorod_appeals_sample50.csv",
        ["id", "text"],
        [[1, "Не вывозят мусор во дворе"], [2, "Яма на дороге у дома 4"]],
    )
    r = run(["eval", "moderation", "--data", str(tmp_path), "--json"])
    assert r.returncode == 0, r.stderr
    rows = {row["slice"]: row for row in json.loads(r.stdout)}
    assert rows["russian_distorted_toxicity.tsv distortion=1"]["recall"] == 1.0
    assert rows["russian_distorted_toxicity.tsv all"]["n"] == 3
    assert rows["russe_detox_2022_dev.tsv toxic_comment"]["recall"] == 1.0
    assert rows["russe_detox_2022_dev.tsv all neutral paraphrases"]["n"] == 3
    assert rows["spb_gorod_appeals_sample50.csv appeals (all must be kept)"]["fpr"] == 0.0


def test_eval_moderation_needs_known_files(tmp_path):
    r = run(["eval", "moderation", "--data", str(tmp_path)])
    assert r.returncode == 2 and b"no known evaluation files" in r.stderr
