"""Normalised match features for source records.

:func:`prepare_records` turns the raw identity fields of source records (as they arrive in feeds) into
the columns the Splink model compares and blocks on. It is vectorised: bulk string clean-up runs in
Arrow compute kernels over the whole column, and the name logic that needs Python (nickname table,
double metaphone, soundex) runs once per *distinct* value, whose count grows far more slowly than the
number of records (a million records hold perhaps a hundred thousand distinct names).

List-valued features (``given_name_tokens``, ``surname_tokens``, ``former_family_names``,
``surnames_all``, ``forename_canonicals``) are Arrow ``list<string>`` columns so that they reach DuckDB
without a Python round trip.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from doublemetaphone import doublemetaphone

from contactpoint.core.forenames import build_variant_index

#: Bumped whenever a change here alters the features a model was built on; part of the model version.
FEATURES_VERSION = "1"

INPUT_COLUMNS: tuple[str, ...] = (
    "record_key",
    "source",
    "given_names",
    "family_name",
    "former_family_names",
    "date_of_birth",
    "sex",
    "address_line_1",
    "town",
    "postcode",
    "nhs_number",
    "upn",
)

#: Columns produced by :func:`prepare_records`, in order.
FEATURE_COLUMNS: tuple[str, ...] = (
    "record_key",
    "source",
    "forename",
    "forename_initial",
    "forename_canonical",
    "forename_canonicals",
    "given_name_tokens",
    "given_name_count",
    "forename_dm",
    "forename_dm_alt",
    "family_name",
    "surname_tokens",
    "former_family_names",
    "surnames_all",
    "family_dm",
    "family_dm_alt",
    "family_soundex",
    "dob",
    "dob_year",
    "dob_month",
    "dob_day",
    "dob_days",
    "sex",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "address_line_1",
    "town",
    "nhs_number",
    "upn",
)

# Letters that NFKD does not decompose into ASCII plus a combining mark.
_SPECIAL_LETTERS = {
    "ß": "SS",
    "ẞ": "SS",
    "Æ": "AE",
    "æ": "AE",
    "Ø": "O",
    "ø": "O",
    "Œ": "OE",
    "œ": "OE",
    "Ł": "L",
    "ł": "L",
    "Đ": "D",
    "đ": "D",
    "Ð": "D",
    "ð": "D",
    "Þ": "TH",
    "þ": "TH",
    "ı": "I",
}
_SPECIAL_RE = re.compile("|".join(map(re.escape, _SPECIAL_LETTERS)))

# Surname particles and prefixes: sharing "VAN" or "DE" says nothing about being the same family, so
# they are not used as tokens for the token-overlap level (they stay in the full surname).
_SURNAME_PARTICLES = frozenset(
    {
        "VAN", "VON", "DER", "DEN", "DE", "DI", "DA", "DU", "DEL", "DELLA", "DOS", "DAS", "LA", "LE",
        "EL", "AL", "BIN", "BINTI", "BINT", "BEN", "IBN", "MC", "MAC", "ST", "SAINT", "TER", "TEN",
    }
)

# Street-type abbreviations, expanded so that "12 Oak Rd" and "12 Oak Road" compare equal.
_ADDRESS_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("RD", "ROAD"),
    ("ST", "STREET"),
    ("AVE", "AVENUE"),
    ("AV", "AVENUE"),
    ("LN", "LANE"),
    ("CL", "CLOSE"),
    ("CRES", "CRESCENT"),
    ("CRS", "CRESCENT"),
    ("DR", "DRIVE"),
    ("CT", "COURT"),
    ("GDNS", "GARDENS"),
    ("GRN", "GREEN"),
    ("GR", "GROVE"),
    ("GRV", "GROVE"),
    ("PL", "PLACE"),
    ("SQ", "SQUARE"),
    ("TER", "TERRACE"),
    ("TERR", "TERRACE"),
    ("PK", "PARK"),
    ("HSE", "HOUSE"),
    ("FLT", "FLAT"),
)

# Spellings of Muhammad used as a first given name ahead of the name a boy is called by.
_PREFIX_NAMES = frozenset(
    {"MUHAMMAD", "MUHAMMED", "MUHAMAD", "MOHAMMED", "MOHAMMAD", "MOHAMED", "MOHAMAD", "MOHAMMAED", "MOHD", "MD"}
)

_POSTCODE_RE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
_UPN_RE = r"^[A-Z][0-9]{11}[0-9A-Z]$"
_NHS_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# helpers


def _to_arrow_strings(values: pd.Series) -> pa.Array:
    """Any pandas column (object, str, Arrow) as an Arrow string array, blanks as null."""
    if pd.api.types.is_string_dtype(values.dtype) or isinstance(values.dtype, pd.ArrowDtype):
        arr = pa.array(values.array, from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
    else:
        arr = pa.array(
            [None if v is None or v is pd.NA or v != v else str(v) for v in values.to_numpy(dtype=object)],
            type=pa.string(),
        )
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _ascii_upper(arr: pa.Array) -> pa.Array:
    """Upper-case and strip accents in Arrow kernels; letters without a decomposition are mapped."""
    upper = pc.utf8_upper(arr)
    non_ascii = pc.invert(pc.fill_null(pc.string_is_ascii(upper), True))
    if not pc.any(non_ascii).as_py():
        return upper
    # Unicode normalisation is the slow part, and nearly every value is plain ASCII: only the rest
    # are decomposed.
    subset = pc.filter(upper, non_ascii)
    subset = pc.replace_substring_regex(pc.utf8_normalize(subset, form="NFKD"), r"\p{M}", "")
    # utf8_upper has already mapped the lower-case forms (ß to ẞ, æ to Æ, ...) to these.
    for char, replacement in _SPECIAL_LETTERS.items():
        if char.isupper():
            subset = pc.replace_substring(subset, char, replacement)
    return pc.replace_with_mask(upper, non_ascii, subset)


def _null_if_empty(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _clean_text(arr: pa.Array, keep: str = "") -> pa.Array:
    """ASCII upper-case, apostrophes and dots dropped, other punctuation to spaces, spaces collapsed."""
    text = _ascii_upper(arr)
    text = pc.replace_substring_regex(text, r"['’`.]", "")
    text = pc.replace_substring_regex(text, rf"[^A-Z0-9 {re.escape(keep)}]+", " ")
    text = pc.replace_substring_regex(text, r"\s+", " ")
    return _null_if_empty(pc.utf8_trim_whitespace(text))


def _arrow_series(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=index)


def _map_distinct(
    arr: pa.Array, fn: Callable[[str], Sequence[Any]], types: Sequence[pa.DataType]
) -> list[pa.Array]:
    """Apply ``fn`` once per distinct non-null value and spread its outputs back to every row.

    ``fn`` returns a tuple with one item per output; nulls stay null in every output.
    """
    encoded = pc.dictionary_encode(arr).combine_chunks() if isinstance(arr, pa.ChunkedArray) else (
        pc.dictionary_encode(arr)
    )
    uniques = encoded.dictionary.to_pylist()
    results = [fn(value) for value in uniques]
    outputs: list[pa.Array] = []
    for position, typ in enumerate(types):
        column = pa.array([result[position] for result in results], type=typ)
        outputs.append(column.take(encoded.indices))
    return outputs


# --------------------------------------------------------------------------------------------------
# names


@lru_cache(maxsize=1)
def _variant_index() -> dict[str, tuple[tuple[str, str], ...]]:
    return build_variant_index()


def _python_ascii_upper(value: str) -> str:
    value = _SPECIAL_RE.sub(lambda m: _SPECIAL_LETTERS[m.group(0)], value)
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def _dm(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    primary, alternate = doublemetaphone(name)
    primary = primary or None
    # The alternate is only interesting when it differs; otherwise it doubles the primary's weight.
    alternate = alternate if alternate and alternate != primary else None
    return primary, alternate


def _called_name(whole_words: pa.Array, given_count: pa.Array) -> pa.Array:
    """The forename to compare: the first given name, except after a Muhammad prefix.

    Boys are very often registered as MUHAMMAD (or a spelling of it) followed by the name they are
    called, and sources differ on whether they keep the prefix. Comparing the called name makes
    "MUHAMMAD HAMZA" equal to "HAMZA", and keeps twins "MUHAMMAD HAMZA" and "MUHAMMAD LOUIE" apart.
    A lone MUHAMMAD stays the forename (and is still among the other record's given names).
    """
    first = pc.list_element(whole_words, 0)
    prefixed = pc.and_(
        pc.fill_null(pc.is_in(first, value_set=pa.array(sorted(_PREFIX_NAMES))), False),
        pc.fill_null(pc.greater_equal(given_count, 2), False),
    )
    if not pc.any(prefixed).as_py():
        return first
    second = pc.list_element(pc.filter(whole_words, prefixed), 1)
    return pc.replace_with_mask(first, prefixed, second)


def _forename_codes(forename: str) -> tuple[str | None, str | None]:
    """Double metaphone primary and alternate of a forename."""
    return _dm(forename)


def _canonical_forename(key: str) -> tuple[str, list[str]]:
    """Canonical forename and the set of canonicals it may stand for, given ``FORENAME|SEX``."""
    forename, _, sex = key.partition("|")
    readings = _variant_index().get(forename, ())
    if sex in ("F", "M"):
        # A variant shared by a boy's and a girl's name resolves by the record's sex, so that ALEX (F)
        # is never a nickname match for ALEXANDER.
        readings = tuple(r for r in readings if r[1] in (sex, "U"))
    canonicals = list(dict.fromkeys([forename, *(r[0] for r in readings)]))
    if len(readings) == 1 or (readings and forename == readings[0][0]):
        canonical = readings[0][0]
    elif readings and any(r[0] == forename for r in readings):
        canonical = forename
    elif readings and len({r[0] for r in readings}) == 1:
        canonical = readings[0][0]
    else:
        # Ambiguous (FREDDIE: ALFRED or FREDERICK) or unknown: the name stands for itself.
        canonical = forename
    return canonical, canonicals


def _surname_parts(value: str) -> tuple[str | None, list[str]]:
    """Full surname (letters only) and its tokens without particles, from a cleaned surname."""
    words = [w for w in re.split(r"[\s\-]+", value) if w]
    if not words:
        return None, []
    full = "".join(words)
    tokens = [w for w in words if len(w) > 1 and w not in _SURNAME_PARTICLES]
    return full, list(dict.fromkeys([full, *tokens]))


def _family_features(value: str) -> tuple[Any, ...]:
    """family name, surname tokens, dm primary, dm alternate, soundex."""
    cleaned = re.sub(r"[^A-Z\- ]+", " ", value)
    full, tokens = _surname_parts(cleaned)
    if full is None:
        return None, None, None, None, None
    primary, alternate = _dm(full)
    return full, tokens, primary, alternate, jellyfish.soundex(full)


def _former_features(value: str) -> tuple[Any, ...]:
    """former family names (full forms) and all their tokens."""
    fulls: list[str] = []
    tokens: list[str] = []
    for part in value.split(";"):
        full, part_tokens = _surname_parts(re.sub(r"[^A-Z\- ]+", " ", _python_ascii_upper(part)))
        if full:
            fulls.append(full)
            tokens.extend(part_tokens)
    if not fulls:
        return None, None
    return list(dict.fromkeys(fulls)), list(dict.fromkeys(tokens))


# --------------------------------------------------------------------------------------------------
# identifiers


def _nhs_numbers(arr: pa.Array) -> pa.Array:
    """Ten digits passing the modulus 11 check, else null (a number that fails is no evidence)."""
    digits = pc.replace_substring_regex(arr, r"[\s\-]", "")
    well_formed = pc.fill_null(pc.match_substring_regex(digits, r"^[0-9]{10}$"), False)
    candidates = pc.filter(digits, well_formed).to_pylist()
    valid = np.zeros(len(candidates), dtype=bool)
    if candidates:
        raw = np.frombuffer("".join(candidates).encode("ascii"), dtype=np.uint8)
        matrix = raw.reshape(-1, 10).astype(np.int64) - ord("0")
        remainder = (matrix[:, :9] @ _NHS_WEIGHTS) % 11
        check = (11 - remainder) % 11
        # A check value of 10 means no valid number has this stem.
        valid = (check != 10) & (check == matrix[:, 9])
    mask = np.zeros(len(arr), dtype=bool)
    mask[np.flatnonzero(well_formed.to_numpy(zero_copy_only=False))] = valid
    return pc.if_else(pa.array(mask), digits, pa.scalar(None, pa.string()))


def _upns(arr: pa.Array) -> pa.Array:
    upn = pc.utf8_upper(pc.replace_substring_regex(arr, r"\s", ""))
    ok = pc.fill_null(pc.match_substring_regex(upn, _UPN_RE), False)
    return pc.if_else(ok, upn, pa.scalar(None, pa.string()))


def _postcodes(arr: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Postcode ("SW1A 1AA"), sector ("SW1A 1") and district ("SW1A"); malformed ones are null."""
    compact = pc.replace_substring_regex(pc.utf8_upper(arr), r"[^A-Z0-9]", "")
    ok = pc.fill_null(pc.match_substring_regex(compact, _POSTCODE_RE), False)
    compact = pc.if_else(ok, compact, pa.scalar(None, pa.string()))
    outward = pc.utf8_slice_codeunits(compact, 0, -3)
    inward = pc.utf8_slice_codeunits(compact, -3)
    full = pc.binary_join_element_wise(outward, inward, " ")
    sector = pc.binary_join_element_wise(outward, pc.utf8_slice_codeunits(inward, 0, 1), " ")
    district = outward
    return full, sector, district


def _addresses(arr: pa.Array) -> pa.Array:
    """Cleaned address line with street-type abbreviations expanded.

    The line is split into words and each *distinct* word is looked up once: one pass over a few
    tens of thousands of words instead of a regex pass per abbreviation over every record.
    """
    text = _clean_text(arr)
    words = pc.split_pattern(text, " ")
    flat = pc.dictionary_encode(pc.list_flatten(words))
    expansions = dict(_ADDRESS_ABBREVIATIONS)
    vocabulary = pa.array([expansions.get(w, w) for w in flat.dictionary.to_pylist()], type=pa.string())
    offsets = words.offsets
    expanded = pa.ListArray.from_arrays(offsets, vocabulary.take(flat.indices), mask=pc.is_null(words))
    return pc.binary_join(expanded, " ")


# --------------------------------------------------------------------------------------------------
# public


def prepare_records(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise source records into the match features compared by the model.

    ``df`` has one row per source record with the columns of :data:`INPUT_COLUMNS`: ``record_key``
    (unique int), ``source`` and the raw identity fields as in the feed format (any of them may be
    missing, ``None`` or blank). Missing optional columns are treated as blank.

    Returns a new DataFrame with :data:`FEATURE_COLUMNS` (Arrow-backed), one row per input row in the
    same order: upper-case ASCII names, first forename and its canonical form from the nickname table,
    double metaphone codes, surname tokens and former surnames, date-of-birth parts, normalised
    postcode with sector and district, cleaned address line, and NHS number / UPN kept only if well
    formed (an NHS number must pass its check digit). Invalid values become null: a value that cannot
    be trusted must not count as evidence either way.
    """
    if "record_key" not in df.columns:
        raise ValueError("records need a record_key column")
    keys = pd.to_numeric(df["record_key"], errors="raise").astype("int64")
    if keys.duplicated().any():
        raise ValueError("record_key must be unique")
    n = len(df)
    index = pd.RangeIndex(n)
    blank = pd.Series([None] * n, dtype=object)

    def column(name: str) -> pa.Array:
        values = df[name].reset_index(drop=True) if name in df.columns else blank
        return _to_arrow_strings(values)

    out: dict[str, pd.Series] = {
        "record_key": pd.Series(keys.to_numpy(), index=index),
        "source": _arrow_series(column("source"), index),
    }

    # Given names, all in Arrow kernels: there are nearly as many distinct given-name strings as
    # records, but few distinct forenames, which is where the Python work happens.
    given = _clean_text(column("given_names"), keep="-")
    # A hyphen only joins two parts of one name; stray ones at word edges are dropped.
    given = pc.replace_substring_regex(given, r"(^|\s)-+|-+(\s|$)|[0-9]+", " ")
    given = _null_if_empty(pc.utf8_trim_whitespace(pc.replace_substring_regex(given, r"\s+", " ")))
    # Hyphenated given names count both ways: "MARY-JANE" is MARYJANE, MARY and JANE.
    whole_words = pc.split_pattern(pc.replace_substring(given, "-", ""), " ")
    parts = pc.split_pattern_regex(given, r"[ \-]+")
    tokens = _concat_lists([whole_words, parts])
    given_count = pc.cast(pc.list_value_length(whole_words), pa.int8())
    forename = _called_name(whole_words, given_count)
    initial = pc.utf8_slice_codeunits(forename, 0, 1)
    fn_dm, fn_dm_alt = _map_distinct(forename, _forename_codes, [pa.string(), pa.string()])
    sex_clean = pc.utf8_slice_codeunits(pc.utf8_upper(column("sex")), 0, 1)
    sex = pc.if_else(
        pc.fill_null(pc.is_in(sex_clean, value_set=pa.array(["F", "M"])), False),
        sex_clean,
        pa.scalar(None, pa.string()),
    )
    forename_sex = pc.binary_join_element_wise(forename, pc.fill_null(sex, ""), "|")
    canonical, canonicals = _map_distinct(
        forename_sex, _canonical_forename, [pa.string(), pa.list_(pa.string())]
    )
    out.update(
        forename=_arrow_series(forename, index),
        forename_initial=_arrow_series(initial, index),
        forename_canonical=_arrow_series(canonical, index),
        forename_canonicals=_arrow_series(canonicals, index),
        given_name_tokens=_arrow_series(tokens, index),
        given_name_count=_arrow_series(given_count, index),
        forename_dm=_arrow_series(fn_dm, index),
        forename_dm_alt=_arrow_series(fn_dm_alt, index),
    )

    family = _ascii_upper(pc.replace_substring_regex(column("family_name"), r"['’`.]", ""))
    family_name, surname_tokens, fam_dm, fam_dm_alt, soundex = _map_distinct(
        family,
        _family_features,
        [pa.string(), pa.list_(pa.string()), pa.string(), pa.string(), pa.string()],
    )
    former = pc.replace_substring_regex(column("former_family_names"), r"['’`.]", "")
    former_names, former_tokens = _map_distinct(
        former, _former_features, [pa.list_(pa.string()), pa.list_(pa.string())]
    )
    # Every surname the child is or was known by, whole and by token, for the overlap level.
    surnames_all = _concat_lists([surname_tokens, former_names, former_tokens])
    out.update(
        family_name=_arrow_series(family_name, index),
        surname_tokens=_arrow_series(surname_tokens, index),
        former_family_names=_arrow_series(former_names, index),
        surnames_all=_arrow_series(surnames_all, index),
        family_dm=_arrow_series(fam_dm, index),
        family_dm_alt=_arrow_series(fam_dm_alt, index),
        family_soundex=_arrow_series(soundex, index),
    )

    dob = pd.to_datetime(column("date_of_birth").to_pandas(), format="%Y-%m-%d", errors="coerce")
    missing = dob.isna().to_numpy()
    days = (dob - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=np.float64, na_value=0.0)
    parts = {
        "dob_year": (dob.dt.year, np.int16),
        "dob_month": (dob.dt.month, np.int8),
        "dob_day": (dob.dt.day, np.int8),
    }
    for name, (values, dtype) in parts.items():
        ints = values.to_numpy(dtype=np.float64, na_value=0.0).astype(dtype)
        out[name] = _arrow_series(pa.array(ints, mask=missing), index)
    dob_iso = pc.strftime(pa.array(dob, from_pandas=True), format="%Y-%m-%d")
    out.update(
        dob=_arrow_series(dob_iso, index),
        dob_days=_arrow_series(pa.array(days.astype(np.int32), mask=missing), index),
        sex=_arrow_series(sex, index),
    )

    postcode, sector, district = _postcodes(column("postcode"))
    out.update(
        postcode=_arrow_series(postcode, index),
        postcode_sector=_arrow_series(sector, index),
        postcode_district=_arrow_series(district, index),
        address_line_1=_arrow_series(_addresses(column("address_line_1")), index),
        town=_arrow_series(_clean_text(column("town")), index),
        nhs_number=_arrow_series(_nhs_numbers(column("nhs_number")), index),
        upn=_arrow_series(_upns(column("upn")), index),
    )
    return pd.DataFrame(out, columns=list(FEATURE_COLUMNS))


def _concat_lists(lists: Sequence[pa.Array]) -> pa.Array:
    """Row-wise concatenation of list<string> arrays (nulls count as empty); null when all empty."""
    n = len(lists[0])
    flat_values: list[pa.Array] = []
    flat_rows: list[np.ndarray] = []
    for arr in lists:
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        flat_values.append(pc.list_flatten(arr))
        flat_rows.append(pc.list_parent_indices(arr).to_numpy())
    values = pa.concat_arrays(flat_values)
    rows = np.concatenate(flat_rows)
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    result = pa.ListArray.from_arrays(pa.array(offsets), values.take(pa.array(order)))
    return pc.if_else(pc.equal(pc.list_value_length(result), 0), pa.scalar(None, result.type), result)
