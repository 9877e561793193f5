"""Builds chart-gothic.ttf: the glyphs the report chart draws, cut from IPA Gothic.

IPA Gothic comes from the Debian package fonts-ipafont-gothic (IPA Font License v1.0,
LICENSE-IPA.txt). Section 3.1 of that license lets a derived font be distributed if it
does not carry the name "IPA": the subset is renamed "Readiness Chart Gothic".

    apt-get download fonts-ipafont-gothic && dpkg-deb -x fonts-ipafont-gothic_*.deb x
    pip install fonttools
    python3 make-chart-font.py x/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf

The Japanese text below must hold every character src/reports/chart.rs draws; a unit
test there checks that the font has a glyph for each.
"""

import sys

from fontTools import subset
from fontTools.ttLib import TTFont

JAPANESE = "週ごとのSLA目標達成率初日計測なし"
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
NAME = "Readiness Chart Gothic"


def main(source: str) -> None:
    font = TTFont(source)
    options = subset.Options()
    options.name_IDs = []  # every name record is replaced below
    options.drop_tables += ["DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=ASCII + JAPANESE + "—%/·")
    subsetter.subset(font)
    names = font["name"]
    for record_id, text in [
        (0, "Derived from IPA Gothic (IPA Font License v1.0); see LICENSE-IPA.txt"),
        (1, NAME),
        (2, "Regular"),
        (3, NAME),
        (4, NAME),
        (5, "Version 1.0"),
        (6, NAME.replace(" ", "")),
    ]:
        names.setName(text, record_id, 3, 1, 0x409)
    font.save("chart-gothic.ttf")


if __name__ == "__main__":
    main(sys.argv[1])
