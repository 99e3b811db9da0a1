"""Default colours for label classes: a colour word in the name wins (the nearest shade of it the
project does not use yet), otherwise the first palette colour the project does not use yet, so
boxes of different classes stay distinguishable."""

import re

#: Colour words a class name may contain (`yellow_box`, `Red car`), with the colour drawn for them.
NAMED_COLORS = {
    "red": "#e6194b",
    "green": "#3cb44b",
    "yellow": "#ffe119",
    "blue": "#4363d8",
    "orange": "#f58231",
    "purple": "#911eb4",
    "violet": "#8b5cf6",
    "cyan": "#42d4f4",
    "magenta": "#f032e6",
    "pink": "#fabed4",
    "lime": "#bfef45",
    "teal": "#469990",
    "brown": "#9a6324",
    "maroon": "#800000",
    "navy": "#000075",
    "olive": "#808000",
    "beige": "#fffac8",
    "gold": "#d4a017",
    "silver": "#c0c0c0",
    "white": "#f8fafc",
    "black": "#111827",
    "gray": "#a9a9a9",
    "grey": "#a9a9a9",
}

#: Sasha Trubetskoy's "20 distinct colours", most distinct first, without white and black
#: (boxes in those vanish on bright or dark images).
PALETTE = [
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#ffe119",
    "#fabed4",
    "#469990",
    "#dcbeff",
    "#9a6324",
    "#800000",
    "#aaffc3",
    "#808000",
    "#ffd8b1",
    "#000075",
    "#a9a9a9",
]


def shades_of(color: str) -> list[str]:
    """`color`, then darker and lighter shades of it (mixed with black or white), nearest first;
    darker before lighter at the same distance, as a label on a light box is harder to read.
    Mixing keeps near-greys grey (a lightness change in HLS turns an off-white blue)."""
    channels = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    shades = [color.lower()]
    for amount in (0.2, 0.4, 0.6):
        for target in (0, 255):
            mixed = "#" + "".join(f"{round(c + (target - c) * amount):02x}" for c in channels)
            if mixed not in shades:
                shades.append(mixed)
    return shades


def _difference(color: str, other: str) -> int:
    """The largest difference of one channel (0-255): under 32 two box colours look the same."""
    if not re.fullmatch(r"#[0-9a-f]{6}", other):
        return 255
    return max(abs(int(color[i : i + 2], 16) - int(other[i : i + 2], 16)) for i in (1, 3, 5))


def color_for_class(name: str, used: set[str]) -> str:
    """The colour named in `name` if any (the first colour word wins; when the project already
    draws it, the nearest shade of it that differs from every colour in `used`), else the first
    palette colour not in `used` (case-insensitive), else the palette cycled by how many are used."""
    taken = {color.lower() for color in used}
    for word in re.split(r"[^a-z]+", name.lower()):
        if word in NAMED_COLORS:
            shades = shades_of(NAMED_COLORS[word])
            distinct = (shade for shade in shades if all(_difference(shade, other) >= 32 for other in taken))
            unused = (shade for shade in shades if shade not in taken)
            return next(distinct, next(unused, shades[0]))
    for color in PALETTE:
        if color not in taken:
            return color
    return PALETTE[len(taken) % len(PALETTE)]
