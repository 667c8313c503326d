"""Numbers for running text: "1.2 × 10⁻⁵" instead of Python's "1.2e-05".

The prose of the book never shows e-notation. A chapter glues a tiny or huge number as
``glue(name, Markdown(scientific(x)), display=False)`` and quotes it with ``{glue:md}`name```;
the superscript digits need no math mode, so the number sits in a sentence like any other word.
:func:`plain` stands in for the ``:g`` format, which switches to e-notation below 0.0001.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from nnbook.errors import UsageError

__all__ = ["scientific", "plain", "agreement", "number_word", "joined"]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def scientific(x: float, digits: int | None = 1) -> str:
    """``x`` as "m × 10ᵏ" with ``digits`` decimals in the mantissa, for prose: 1.2345e-05 -> "1.2 × 10⁻⁵".

    Zero is written "0". The mantissa is rounded first, so 9.96e-6 with one decimal becomes
    "1.0 × 10⁻⁵", never "10.0 × 10⁻⁶". A minus sign is the typographic "−". ``digits=None``
    writes an exact power of ten without decimals ("1 × 10⁻⁵", a setting such as a weight decay)
    and anything else with one.
    """
    value = _finite(x, "scientific")
    if digits is None:
        power = f"{abs(value):.0e}"  # e.g. "1e-05"
        # exact up to the float rounding of a computed setting (0.1 / 10⁴ is 1.0000000000000001e-05)
        exact = value != 0 and power.startswith("1e") and abs(float(power) - abs(value)) <= 1e-9 * abs(value)
        digits = 0 if exact else 1
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 16:  # 17 significant
        raise UsageError(f"digits must be an integer from 0 to 16, got {digits!r}")
    if value == 0:
        return "0"
    # Python's own rounding of the mantissa decides the exponent: "9.96e-06" -> "1.0e-05"
    mantissa, exponent = f"{abs(value):.{digits}e}".split("e")
    sign = "−" if value < 0 else ""
    return f"{sign}{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def plain(x: float, significant: int = 6) -> str:
    """``x`` as the ``:g`` format writes it (``significant`` digits, no trailing zeros), but never in e-notation.

    0.9 -> "0.9", 12.5 -> "12.5"; where ``:g`` would write 4e-06, this writes "4 × 10⁻⁶". A minus
    sign is the typographic "−", as in :func:`scientific`, and -0.0 is "0".
    """
    if isinstance(significant, bool) or not isinstance(significant, int) or not 1 <= significant <= 17:
        raise UsageError(f"significant must be an integer from 1 to 17, got {significant!r}")
    value = _finite(x, "plain") + 0.0  # (+ 0.0 turns -0.0 into 0.0)
    text = f"{value:.{significant}g}"
    if "e" not in text:
        return text.replace("-", "−")
    mantissa = text.split("e")[0]
    return scientific(value, len(mantissa.partition(".")[2]))


def agreement(diff: float, other: str, tolerance: float) -> str:
    """Words for the largest difference ``diff`` between a result and ``other``'s computation of it:
    "agrees exactly with <other>" for 0, "differs from <other> by at most 1.1 × 10⁻¹⁶, a rounding
    difference in the last bits" up to ``tolerance``. A larger difference is a different result,
    not a rounding one, and raises :class:`~nnbook.errors.UsageError`."""
    value = _finite(diff, "agreement")
    if value < 0 or value > tolerance:
        raise UsageError(f"a difference of {value!r} from {other} is not a rounding difference "
                         f"(tolerance {tolerance!r})")
    if value == 0:
        return f"agrees exactly with {other}"
    return f"differs from {other} by at most {scientific(value)}, a rounding difference in the last bits"


def number_word(n: int) -> str:
    """A count from 0 to 9 as the prose spells it: 2 -> "two" (a larger count is refused: write it in digits)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(_WORDS):
        raise UsageError(f"number_word() spells whole numbers from 0 to 9, got {n!r}")
    return _WORDS[n]


def joined(items: Iterable[str]) -> str:
    """Items as a sentence lists them: "a", "a and b", "a, b and c"."""
    items = list(items)
    if not items:
        raise UsageError("joined() needs at least one item")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _finite(x: float, caller: str) -> float:
    """``x`` as a finite float, or a UsageError naming ``caller``."""
    if isinstance(x, (bool, str, bytes)) or not hasattr(x, "__float__"):
        raise UsageError(f"{caller}() takes a number, got {type(x).__name__}")
    value = float(x)
    if not math.isfinite(value):
        raise UsageError(f"{caller}() takes a finite number, got {value!r}")
    return value
