"""What may be written as the purpose of an audited action: never an ID number or a phone number.

The purpose is kept for good in the append-only log, so it is checked before it is written, in
:func:`banyan.audit.services.record` (every writer passes there) and by the services that ask for
it. The text is first normalised: NFKC (full-width digits ``１３８`` become ``138``), invisible
format characters (zero-width spaces, bidi marks) removed. Then the digit groups of each run of
digits joined by separators (spaces, hyphens, dots, slashes, brackets, ``+``) are put back
together in every contiguous combination, and each combination is compared with the shapes of a
resident ID number (18 characters with a real birth date, or its first 14), and a mainland mobile
number (11 digits from 13… to 19…, optionally after 86 or 0086). So ``330102-19720504-2324``,
``138-0013-8000``, ``+86 13800138000`` and ``１３８００１３８０００`` are caught, while dates
(``2026-12-07``), times and case numbers (``INC-2026-00012``) pass.
"""

from __future__ import annotations

import re
import unicodedata

# A digit group, with the check character X an ID number may end with.
_GROUP = re.compile(r"\d+[Xx]?")
# Digit groups joined by at most three separator characters form one run.
_SEPARATOR = r"[\s\-\u2010-\u2015\u2212.·/\\()\[\]+_]"
_RUN = re.compile(rf"\d+[Xx]?(?:{_SEPARATOR}{{1,3}}\d+[Xx]?)*")
_BIRTH = r"(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_NUMBER = re.compile(rf"\d{{6}}{_BIRTH}(?:\d{{3}}[\dXx])?")
_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
# Within one unbroken group: anything as long as an ID number, or an ID number's first 14 digits.
_IN_GROUP = re.compile(r"\d{17}[\dXx]|\d{6}(?:19|20)\d{6}|(?<!\d)(?:0086|86)?1[3-9]\d{9}(?!\d)")
_LONGEST = 22  # 0086 + 11 digits, or 18 characters of an ID number, with room to spare


def normalise(text: str) -> str:
    """NFKC, without format characters (category Cf: zero-width, bidi controls, soft hyphens)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def looks_personal(text: str) -> bool:
    """Whether ``text`` holds something shaped like a resident ID number or a mobile phone number."""
    if not text:
        return False
    text = normalise(text)
    for run in _RUN.finditer(text):
        groups = _GROUP.findall(run.group())
        for group in groups:
            if _IN_GROUP.search(group):
                return True
        if len(groups) == 1:
            continue
        for start in range(len(groups)):
            joined = ""
            for group in groups[start:]:
                if joined and joined[-1] in "Xx":
                    break
                joined += group
                if len(joined) > _LONGEST:
                    break
                if _ID_NUMBER.fullmatch(joined) or _MOBILE.fullmatch(joined):
                    return True
    return False
