"""The matcher's bar: how sure it must be, given what the message says. No Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding.acceptance import DEFAULT_BAR, Bar, Evidence
from bot.understanding.intent_file import load_intent_file
from bot.understanding.matcher import DEFAULT_THRESHOLD, IntentSpec, Matcher

BUILTIN = Path(__file__).resolve().parents[2] / "intents" / "builtin.yaml"

# A furniture and pet shop: sentences unlike the eval sets' clothes and parcels.
FAQS = [
    {"id": "faq_assembly", "question": "柜子需要自己组装吗",
     "answer": "大件家具由师傅上门免费安装,下单后48小时内联系您预约。",
     "examples": ["书柜要自己装吗", "衣柜送货上门安装吗", "安装师傅什么时候来"]},
    {"id": "faq_pet_food", "question": "狗粮保质期多久",
     "answer": "未开封18个月,开封后请在6周内吃完,密封避光保存。",
     "examples": ["猫粮开封后能放多久", "狗粮过期了还能吃吗"]},
    {"id": "faq_deposit", "question": "定金可以退吗",
     "answer": "定金在尾款支付前可申请退还,尾款支付后不退。",
     "examples": ["付了定金不想要了", "订金能退回来吗"]},
]


def specs(**overrides: dict) -> list[IntentSpec]:
    builtin = [IntentSpec.from_dict(d, builtin=True)
               for d in load_intent_file(BUILTIN, require_answer=False)]
    return [*builtin, *(IntentSpec.from_dict({**d, **overrides.get(d["id"], {})})
                        for d in FAQS)]


@pytest.fixture(scope="module")
def with_bar() -> Matcher:
    return Matcher(specs())


@pytest.fixture(scope="module")
def fixed() -> Matcher:
    return Matcher(specs(), bar=None)


def evidence(topic_words: int = 3, unknown_share: float = 0.2,
             unexplained: float = 0.0) -> Evidence:
    return Evidence(topic_words=topic_words, unknown_share=unknown_share,
                    unexplained=unexplained)


def test_each_sign_moves_the_bar_its_own_way():
    bar = DEFAULT_BAR
    plain = bar.needed(50.0, bar.shift(evidence()), runner_up=20.0)
    assert bar.needed(50.0, bar.shift(evidence(topic_words=4)), 20.0) < plain
    assert bar.needed(50.0, bar.shift(evidence(unknown_share=0.5)), 20.0) > plain
    assert bar.needed(50.0, bar.shift(evidence(unexplained=1.0)), 20.0) > plain
    assert bar.needed(50.0, bar.shift(evidence()), runner_up=40.0) > plain


def test_the_bar_keeps_within_reach_of_the_intents_own_threshold():
    """A merchant's strict threshold stays strict however long the message, and a lenient
    one lenient however unknown its words."""
    bar = Bar(base=0.0, topic_word=-5.0, unknown=10.0, unexplained=5.0, runner_up=0.2,
              max_shift=10.0)
    assert bar.needed(70.0, bar.shift(evidence(topic_words=40)), 0.0) == 60.0
    assert bar.needed(30.0, bar.shift(evidence(0, 1.0, 9.0)), 100.0) == 40.0
    assert bar.needed(50.0, bar.shift(evidence(1, 0.0, 0.0)), 10.0) == 47.0
    # A threshold of 100 is still reachable by a perfect match, one of 0 still by anything.
    assert bar.needed(100.0, bar.shift(evidence(0, 1.0, 9.0)), 100.0) == 100.0
    assert bar.needed(0.0, bar.shift(evidence(topic_words=40)), 0.0) == 0.0


def test_a_message_that_says_more_needs_less(with_bar, fixed):
    """A customer who explains at length ("opened the dog food, kept it in the fridge, how
    many weeks more") shares a smaller part of their words with any FAQ than one who types
    three: at the same score, the long message is far more often what it seems."""
    text = "狗粮打开以后放冰箱里能多放几周不"
    result = with_bar.match(text)
    assert result.outcome == "matched" and result.intent == "faq_pet_food"
    assert result.score < DEFAULT_THRESHOLD and result.bar <= result.score
    assert result.evidence is not None and result.evidence.topic_words >= 5
    assert fixed.match(text).outcome == "unmatched"


def test_a_message_the_intents_do_not_know_needs_more(with_bar, fixed):
    """"定金合同范本" shares 定金 with the deposit FAQ, but asks for a contract template: most of
    it is words no intent has, so a score just over the threshold is not enough."""
    text = "定金合同范本"
    assert fixed.match(text).intent == "faq_deposit"
    result = with_bar.match(text)
    assert result.outcome == "unmatched"
    assert result.evidence is not None and result.evidence.unknown_share > 0.5
    assert result.bar > result.score >= DEFAULT_THRESHOLD
    # What the shop knows about is answered as before, whatever the bar.
    assert with_bar.match("付了定金现在不想买了能退吗").intent == "faq_deposit"
    assert with_bar.match("沙发要自己装吗").intent == "faq_assembly"


def test_the_shops_own_terms_are_known_words():
    """A product name the merchant declared is no word "no intent knows" because no FAQ text
    has it yet."""
    declared = Matcher(specs(faq_pet_food={"terms": ["冻干鹌鹑"]}))
    undeclared = Matcher(specs())
    assert undeclared.match("冻干鹌鹑").evidence.unknown_share == 1.0
    assert declared.match("冻干鹌鹑").evidence.unknown_share < 1.0   # only its bigrams
    text = "冻干鹌鹑开封后能放多久"
    assert declared.match(text).bar < undeclared.match(text).bar
    assert declared.match(text).intent == "faq_pet_food"


def test_a_merchants_threshold_still_moves_the_bar(with_bar):
    strict = Matcher(specs(faq_pet_food={"threshold": 80.0}))
    text = "狗粮打开以后放冰箱里能多放几周不"
    assert strict.match(text).outcome == "unmatched"
    assert strict.match(text).bar == pytest.approx(with_bar.match(text).bar + 30.0, abs=0.11)


def test_the_staffs_negatives_change_nothing_of_how_real_questions_weigh():
    """A dismissed message that uses the shop's words ("驾校定金能退吗") must not make 定金
    lighter for every real deposit question, nor make its own words (驾校) known to the
    bar: the look-alike is kept out by the negative itself."""
    plain = Matcher(specs())
    taught = Matcher(specs(), negatives=["驾校定金能退吗"])
    question = "付了定金还能退吗"
    assert taught.match(question).candidates[0] == plain.match(question).candidates[0]
    assert taught.match(question).intent == "faq_deposit"
    other = "驾校报名要带什么"
    assert taught.match(other).evidence == plain.match(other).evidence
    assert taught.match("驾校定金可以退吗").outcome == "unmatched"
