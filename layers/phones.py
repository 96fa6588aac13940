"""Phone numbers as the roster and issue records keep them: a mainland mobile number in
11 digits, or a landline with its area code (``0371-12345678``)."""
import re

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-\d{7,8}")


def normalise_phone(text):
    """A mobile number without spaces or hyphens, or a landline as ``0371-12345678``;
    None when the text is neither."""
    compact = re.sub(r"[\s-]", "", text)
    if MOBILE.fullmatch(compact):
        return compact
    landline = re.sub(r"\s*-\s*", "-", text.strip())
    return landline if LANDLINE.fullmatch(landline) else None
