"""Saving figures with deterministic bytes.

Examples
--------
>>> from sma_outcomes.plot.save import save_figure
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from .style import house_style

__all__ = ["save_figure", "FORMATS", "DEFAULT_DPI"]

#: Resolution of PNG output unless ``dpi=`` says otherwise: print quality.
DEFAULT_DPI = 300

#: Metadata entries that would carry a date or a software version, per format.
_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}

#: Formats :func:`save_figure` writes.
FORMATS: tuple[str, ...] = tuple(_METADATA)


def save_figure(
    fig: Figure,
    path: str | os.PathLike,
    *,
    dpi: float | None = None,
    format: str | None = None,
    transparent: bool = False,
) -> Path:
    """Save a figure as PNG, SVG or PDF with reproducible bytes.

    Creation dates and software versions are left out of the metadata, SVG
    element ids come from a fixed hash salt, and the house style is in force
    while the file is written, so saving the same figure twice, in the same
    or in separate processes, gives identical files. SVG keeps text as text
    (``svg.fonttype`` "none"), so it stays searchable and editable; PDF
    embeds the fonts (TrueType).

    Parameters
    ----------
    fig : Figure
        The figure, e.g. from :func:`plot_patient`.
    path : str or Path
        Target file; the format comes from its suffix unless ``format`` is
        given. Missing parent folders are created.
    dpi : float, optional
        Resolution of raster output (PNG, and the rasterised parts of SVG/PDF
        such as a spaghetti of thousands of patients); default
        :data:`DEFAULT_DPI` (300), which suits print.
    format : {"png", "svg", "pdf"}, optional
        Overrides the suffix.
    transparent : bool
        Transparent background instead of white.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValueError
        For a format other than those above.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1))
    >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> out = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "line.svg")
    >>> out.suffix, b"<dc:date>" in out.read_bytes()
    ('.svg', False)
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in _METADATA:
        raise ValueError(
            f"cannot save {path.name!r}: format must be one of {list(FORMATS)}, not {fmt!r} "
            "(give a suffix such as .png or pass format=)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with house_style(), _layout_done(fig):
        fig.savefig(
            path,
            format=fmt,
            dpi=DEFAULT_DPI if dpi is None else float(dpi),
            metadata=dict(_METADATA[fmt]),
            transparent=transparent,
        )
    return path


@contextlib.contextmanager
def _layout_done(fig: Figure) -> Iterator[None]:
    """While saving, no layout engine when the figure's layout is already fixed.

    :func:`~sma_outcomes.plot.style.finish` lays a figure out once and leaves a
    placeholder engine that does nothing. ``savefig`` draws a figure with any
    engine an extra time before the real draw, "so that the layout can run";
    with a placeholder that draw only costs time (as much as the real one for
    a grid of 48 panels). The drawn pixels are the same.

    Examples
    --------
    >>> from sma_outcomes.plot.style import finish, house_style, new_figure
    >>> with house_style():
    ...     fig = new_figure(2, 1, layout="constrained")
    ...     ax = fig.add_subplot()
    ...     finish(fig)
    >>> with _layout_done(fig):
    ...     fig.get_layout_engine() is None
    True
    >>> type(fig.get_layout_engine()).__name__
    'PlaceHolderLayoutEngine'
    """
    engine = fig.get_layout_engine()
    if not isinstance(engine, PlaceHolderLayoutEngine):
        yield
        return
    fig._layout_engine = None  # set_layout_engine(None) may pick one from rcParams
    try:
        yield
    finally:
        fig._layout_engine = engine
