"""The numpy rater agrees with the scalar rules on random legs (plan loaded from each engine)."""
import random
from datetime import timedelta

import numpy as np

from confcall.rating import rates
from confcall.rating.numbers import CLASSES
from confcall.rating.vector import VectorRater, encode_numbers
from tests.rating.helpers import NOW


def test_vector_equals_scalar(store):
    rnd = random.Random(5)
    lines = [("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,connect_fee_fen,"
              "min_charge_fen,free_seconds")]
    for cls in CLASSES[:-1]:
        lines.append(f"{cls},1234567,00:00,24:00,{rnd.randint(0, 300)},60,60,0,0,0")
    prefixes = set()
    while len(prefixes) < 300:
        prefixes.add("+86" + str(rnd.randint(10, 10**rnd.randint(2, 6))))
    for p in sorted(prefixes):
        ini, sub = rnd.choice([(60, 60), (30, 6), (6, 6)])
        lines.append(f"{p},1234567,00:00,24:00,{rnd.randint(0, 500)},{ini},{sub},"
                     f"{rnd.choice([0, 10])},{rnd.choice([0, 50])},{rnd.choice([0, 3])}")
    lines.append("+8699,1234567,08:00,20:00,60,60,60,0,0,0")  # a key with periods
    lines.append("+8699,1234567,00:00,08:00,20,60,60,0,0,0")
    lines.append("+8699,1234567,20:00,24:00,20,60,60,0,0,0")
    with store.transaction() as s:
        rates.import_rates(s, "v", "\n".join(lines) + "\n", rounding="half_up")
        plan = rates.load_plan(s, "v")
    pool = sorted(prefixes) + ["+8699"]
    e164 = [rnd.choice(pool) + "".join(rnd.choice("0123456789") for _ in range(5))
            for _ in range(3000)]
    classes = np.array([rnd.randrange(len(CLASSES) - 1) for _ in e164], dtype=np.int64)
    durations = np.array([rnd.choice([0, 1, 5, 59, 60, 61, rnd.randint(0, 4000)])
                          for _ in e164], dtype=np.int64)
    answered = [NOW + timedelta(seconds=rnd.randint(0, 86400)) for _ in e164]
    numbers, ndigits = encode_numbers(e164)
    result = VectorRater(plan).rate(numbers, ndigits, classes, durations, answered, e164)
    for i in range(len(e164)):
        ch = plan.charge(e164[i], CLASSES[classes[i]], answered[i], int(durations[i]))
        assert (int(result.amount_fen[i]), int(result.billed_s[i])) == \
            (ch.amount_fen, ch.billed_s), (e164[i], durations[i])
