import json
import subprocess
import sys

from regulation.quality import check_answer


def codes(text, **kw):
    return {i.code for i in check_answer(text, **kw)}


def test_good_answer_passes():
    text = ("Здравствуйте, Анна! Фонари на улице Ленина заменили сегодня утром, "
            "вечером улица освещена. Спасибо, что сообщили.")
    assert codes(text, platform="telegram") == set()


def test_problems_are_named():
    text = "в рамках работ осуществляется ремонт ремонт , вообщем скоро"
    got = codes(text, platform="kamchatka")
    assert {"no_greeting", "bureaucratese", "spelling", "photos_missing"} <= got


def test_length_fits_the_network():
    assert "too_long" in codes("Здравствуйте! " + "а" * 5000, platform="telegram")
    assert "too_short" in codes("Здравствуйте! Решено.", platform="vk")


def run(*args):
    return subprocess.run([sys.executable, "-m", "otklik", "deadlines", *args], capture_output=True, text=True,
                          timeout=60)


def test_deadlines_cli_with_offset_and_clauses():
    r = run("--profile", "zarechny", "--channel", "social", "--identified", "2025-03-07T15:00")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # 7 March 2025 is a pre-holiday day (ends 17:00): 2 h that day, 6 h on Monday 10 March.
    assert out["answer_by"] == "2025-03-10T16:00:00+03:00"
    assert out["route_by"] == "2025-03-07T16:00:00+03:00"
    assert out["draft_by"] == "2025-03-10T12:00:00+03:00"  # 3 wh before, across the lunch break
    assert out["clauses"]["answer_by"] == "001 §10"


def test_deadlines_cli_rejects_unknown_channel():
    r = run("--profile", "zarechny", "--channel", "pos", "--identified", "2025-03-07T15:00")
    assert r.returncode == 2 and "has no channel 'pos'" in r.stderr and "Traceback" not in r.stderr
