"""The demo's referrals are clinically coherent: unit, question and procedure fit together."""

from __future__ import annotations

import random
from datetime import date

from lysbord.demo.people import make_people
from lysbord.demo.plans import make_plans
from lysbord.demo.region_data import CATALOGUE
from lysbord.demo.texts import INDICATIONS
from tests.demo_referrals import incoherent

TODAY = date(2026, 11, 23)
_FACTS = {code: (code, modality, part) for code, _n, modality, _d, part, _p in CATALOGUE}


def test_every_procedure_of_the_catalogue_answers_some_question() -> None:
    asked = {code for i in INDICATIONS for code in i.codes}
    assert asked == set(_FACTS)


def test_every_demo_referral_fits_the_table_of_allowed_combinations() -> None:
    for seed in (1, 2026):
        rng = random.Random(seed)
        people = make_people(rng, 3000, TODAY, [("RH", 1)])
        plans = make_plans(people, 3150, TODAY, rng)
        wrong = [
            (p.unit, p.question, p.codes, why)
            for p in plans
            if (
                why := incoherent(
                    p.unit,
                    p.question,
                    [_FACTS[c] for c in p.codes],
                    p.person.sex,
                    p.person.age_on(TODAY),
                )
            )
        ]
        assert wrong == []
        assert {p.question for p in plans} == {i.question for i in INDICATIONS}
        assert sum(len(p.codes) == 2 for p in plans) > 5  # a few ask for two procedures
