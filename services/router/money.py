"""Money as ISO 4217 has it: real currencies only, amounts in whole minor units, always written with them.

The currency list and minor units come from the `iso4217` package (the ISO 4217 maintenance agency's list
one, dated in `iso4217.__published__`). Accepted: every currency one pays in, i.e. list one without the
fund codes (USN, CLF, ...) and the codes without minor units (XXX, XTS, gold and the other metals, XDR).
An amount has at most its currency's minor units (JPY 0, EUR 2, KWD 3) and is written with exactly
them: "100" EUR is answered "100.00", in the answer to the create as in every read. Amounts travel as
plain decimal strings ("25.00"): JSON numbers, exponents ("1e10") and signs ("-0.00") are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

import iso4217
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def _payment_currencies() -> dict[str, int]:
    funds = {
        entry.findtext("Ccy")
        for entry in iso4217.raw_xml.findall("CcyTbl/CcyNtry")
        if (name := entry.find("CcyNm")) is not None and name.get("IsFund")
    }
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None and c.code not in funds}


MINOR_UNITS: Mapping[str, int] = _payment_currencies()
# Amounts are stored as integers of this many decimals: enough for every currency above (UYW has 4).
STORED_DECIMALS = 4
assert max(MINOR_UNITS.values()) <= STORED_DECIMALS
# Below 10^12 of any currency: a sum of many still fits the 64-bit integer it is stored as.
MAX_AMOUNT = Decimal(10**12) - 1


def _known(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"{code} is not an ISO 4217 currency one pays in (e.g. EUR, USD, JPY)")
    return code


Currency = Annotated[
    str,
    AfterValidator(_known),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(MINOR_UNITS),
            "description": "ISO 4217 code; amounts in it have at most its minor units (JPY 0, EUR 2, KWD 3)",
            "examples": ["EUR"],
        }
    ),
]
AMOUNT_PATTERN = rf"^[0-9]{{1,12}}(\.[0-9]{{1,{STORED_DECIMALS}}})?$"


def _amount(value: Any) -> Decimal:
    """A plain decimal string from JSON (or a Decimal from our own code): never a float, never "1e10"."""
    if isinstance(value, str) and re.fullmatch(AMOUNT_PATTERN, value):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite() and 0 <= value <= MAX_AMOUNT:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -STORED_DECIMALS:
            return value
    raise ValueError(
        'an amount is a string of digits with an optional decimal part, e.g. "25.00", at most '
        f"{MAX_AMOUNT}; JSON numbers are refused (most clients pass them through binary floats)"
    )


# What a client sends; checked against its currency's minor units where the currency is known.
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "maxLength": 13 + STORED_DECIMALS,
            "description": "a decimal string with at most the currency's minor units",
            "examples": ["25.00"],
        }
    ),
]


def exact(amount: Decimal, currency: str) -> Decimal:
    """`amount` written with the currency's minor units; ValueError if it has finer parts than those."""
    units = MINOR_UNITS[currency]
    written = amount.quantize(Decimal(1).scaleb(-units))
    if written != amount:
        raise ValueError(f"{currency} has {units} decimal places; {amount} has more")
    return written.copy_abs() if written.is_zero() else written


def written(amount: Decimal, currency: str | None) -> Decimal:
    """An amount from storage or a computation, written with its currency's minor units (2 if unknown)."""
    result = amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency or "", 2)))
    return result.copy_abs() if result.is_zero() else result


def exact_map(amounts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """A currency -> amount mapping with each amount exact in its currency."""
    return {currency: exact(amount, currency) for currency, amount in amounts.items()}


def written_map(amounts: Mapping[str, Any]) -> dict[str, Decimal]:
    return {currency: written(Decimal(amount), currency) for currency, amount in amounts.items()}


class StoredMoney(TypeDecorator[Decimal]):
    """An exact amount stored as an integer of STORED_DECIMALS decimals: exact on every backend, SUM too."""

    impl = BigInteger()
    cache_ok = True
    _UNIT = Decimal(1).scaleb(-STORED_DECIMALS)

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        units = Decimal(value) / self._UNIT
        if units != units.to_integral_value():
            raise ValueError(f"{value} has more than {STORED_DECIMALS} decimals")
        return int(units)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(int(value)) * self._UNIT).quantize(self._UNIT)
