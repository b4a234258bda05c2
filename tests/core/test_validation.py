"""fastembody_core.validation: the params checks every plugin uses, one ConfigError line naming the key."""
import math

import pytest

from fastembody_core import ConfigError, check_fraction, check_int, check_number, check_one_of, check_positive, check_range


@pytest.mark.parametrize("call, message", [
    (lambda: check_number("x", "lr"), r"^lr: expected a number, got 'x'$"),
    (lambda: check_number(True, "lr"), r"^lr: expected a number, got True$"),
    (lambda: check_number(math.nan, "lr"), r"^lr: must be a finite number >= -inf, got nan$"),
    (lambda: check_positive(0.0, "lr"), r"^lr: must be a finite number > 0, got 0.0$"),
    (lambda: check_positive(-1, "coef", allow_zero=True), r"^coef: must be a finite number >= 0, got -1$"),
    (lambda: check_fraction(1.5, "gamma"), r"^gamma: must be in \[0, 1\], got 1.5$"),
    (lambda: check_int(2.0, "epochs", 1), r"^epochs: must be an integer >= 1, got 2.0$"),
    (lambda: check_int(False, "epochs", 0), r"^epochs: must be an integer >= 0, got False$"),
    (lambda: check_one_of("gelu2", "activation", ("elu", "gelu")), r"^activation: unknown value 'gelu2'; allowed: "
                                                                    r"elu, gelu$"),
    (lambda: check_range([2, 1], "friction"), r"^friction: min 2.0 > max 1.0"),
    (lambda: check_range([0, math.inf], "friction"), r"^friction: expected finite numbers"),
    (lambda: check_range([-1, 1], "friction", low=0.0), r"^friction: min -1.0 is below the allowed minimum 0.0$"),
])
def test_a_bad_value_is_one_line_naming_the_key(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_good_values_come_back_checked():
    assert check_positive("3e-4", "lr") == 3e-4 and check_fraction(1, "gamma") == 1.0
    assert check_int(4, "epochs", 1) == 4 and check_one_of("elu", "a", ("elu",)) == "elu"
    assert check_range((0.5, 1.25), "friction", low=0.0) == (0.5, 1.25)
