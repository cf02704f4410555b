"""class.html and its numbers: difficulty, discrimination, chosen options, who to follow up."""

from __future__ import annotations

import base64

import pytest
from bs4 import BeautifulSoup

from grader.records import ItemResult, PartResult, Report, Submission
from grader.report.class_report import write_class_report
from grader.report.item_stats import choice_stats, chosen_options, item_stats

KEY_Q1 = "B"


def mc(label: str, chosen: str, key: str, with_details: bool) -> PartResult:
    right = chosen == key
    feedback = f"{chosen} is correct." if right else f"{chosen} is not correct."
    details = {"answer": chosen} if with_details else {}
    return PartResult(label, 1.0 if right else 0.0, 1.0, "passed" if right else "failed", feedback, details)


def student(name: str, q1: str, q2: float, q3: float, late: dict | None = None) -> Report:
    items = [
        ItemResult("ch10.q1", "Perceptrons (XOR)", [mc("answer_q1", q1, KEY_Q1, with_details=name < "m")]),
        ItemResult("ch10.q2", "Dynamic (looped) forward", [PartResult(
            "mlp_forward", q2, 4.0, "passed" if q2 == 4 else "failed",
            "ok." if q2 == 4 else "wrong output shape: expected (n, 10), got (10,).")]),
        ItemResult("ch10.q3", "Trained model", [PartResult(
            "mnist_model.keras", q3, 5.0, "passed" if q3 == 5 else "failed",
            "accuracy 98.2%." if q3 == 5 else "mnist_model.keras was not found.")]),
    ]
    score = round(sum(i.score for i in items), 2)
    return Report(name, "ch10", score, 10.0, items, "ab" * 32, "0.1.0", "2026-03-08T12:00:00+00:00", 1)


@pytest.fixture
def reports() -> list[Report]:
    # strong students (q2, q3 right) answer C on q1; weak ones B, which the key rewards: a wrong key
    return [
        student("ana", "C", 4, 5), student("bo", "C", 4, 5), student("cy", "C", 4, 2),
        student("dee", "B", 1, 0), student("eli", "B", 0, 0), student("nia", "B", 2, 0),
        student("oz", "A", 0, 5),
    ]


def test_difficulty_and_discrimination_flag_a_suspect_key(reports):
    stats = {s.item: s for s in item_stats(reports)}
    q1, q2 = stats["ch10.q1"], stats["ch10.q2"]
    assert q1.difficulty == pytest.approx(3 / 7) and q1.n == 7
    assert q1.discrimination < 0 and q1.negative
    assert q2.discrimination > 0.3 and not q2.negative
    assert q2.mean == pytest.approx(15 / 7)
    assert q2.common_feedback == [("mlp_forward: wrong output shape: expected (n, 10), got (10,).", 4)]


def test_chosen_options_from_details_then_feedback():
    assert chosen_options(PartResult("a", 0, 1, "failed", "C is not correct.", {"answer": "d"})) == {"D"}
    assert chosen_options(PartResult("a", 0, 1, "failed", "C is not correct.")) == {"C"}
    assert chosen_options(PartResult("a", 1, 1, "passed", "{A, C} is correct.")) == {"A", "C"}
    assert chosen_options(PartResult("a", 0, 1, "failed", "{A}: 1 of the 2 right options chosen, 0 wrong")) == {"A"}
    assert chosen_options(PartResult("a", 0, 1, "error", "answer_q1 is missing.")) is None
    assert chosen_options(PartResult("m", 0, 1, "failed", "accuracy 90%.")) is None


def test_choice_counts_and_key(reports):
    (q1,) = choice_stats(reports)
    assert (q1.item, q1.label, q1.counts, q1.key, q1.answered) == ("ch10.q1", "answer_q1", {"A": 1, "B": 3, "C": 3}, {"B"}, 7)


def test_class_html_is_inert_and_describes_its_pictures(tmp_path, reports):
    late = reports[1]
    subs = [Submission(r.student, "ch10", f"/w/{r.student}/ch10.ipynb", "/w") for r in reports]
    subs[3].lms_late, subs[3].source = True, "canvas"
    unreadable = Report("ugo", "ch10", 0.0, 10.0, [ItemResult("ch10.q1", "Perceptrons (XOR)", [
        PartResult("answer_q1", 0, 1, "error", "not graded: ch10.ipynb is not valid notebook JSON.")])],
        "cd" * 32, "0.1.0", "2026-03-08T12:00:00+00:00", 1, problems=["ch10.ipynb is not valid notebook JSON."])
    reports_with_extra = [(r, {}) for r in reports if r is not late]
    reports_with_extra.append((late, {"raw_score": 10.0, "late": {
        "due": "2026-03-06T23:59:00-08:00", "submitted_at": "2026-03-07T10:00:00-08:00",
        "late_by_hours": 10.02, "penalty_percent": 10.0, "reason": "1 day(s) started x 10% = 10%"}}))
    reports_with_extra.append((unreadable, {}))
    path = write_class_report(tmp_path, reports_with_extra, subs, [("zed", "no notebook for any assignment")])
    page = path.read_text()
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None and "default-src 'none'" in page
    assert not any(tag.get("src", "").startswith(("http", "//")) for tag in soup.find_all(src=True))
    images = soup.find_all("img")
    assert len(images) == 3  # distribution, items, multiple choice
    for img in images:
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1])[:4] == b"\x89PNG"
        assert len(img["alt"]) > 40
    assert "Histogram of ch10 scores for 7 graded students" in images[0]["alt"]
    assert "negative discrimination on ch10.q1" in images[1]["alt"]
    assert "B: 3 (key)" in images[2]["alt"]
    flagged = soup.find("tr", class_="flag")
    assert flagged.find("td").text == "ch10.q1" and "check the key" in flagged.text
    assert "Dynamic (looped) forward" in page
    follow = soup.find(id="follow-up").find_next_siblings("h3")
    assert [h.text for h in follow] == ["Missing (1)", "Not graded (1)", "Late (2)"]
    text = soup.get_text(" ")
    assert "zed" in text and "ugo" in text and "penalty 10%: 1 day(s) started x 10% = 10%" in text
    assert "marked late by Canvas" in text
    assert "4 of 7: mlp_forward: wrong output shape" in text
