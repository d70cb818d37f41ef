"""XMP carried to outputs (brought up to date like EXIF), and the render recipe stored in it:
one property in hidt's own namespace, merged into the photo's packet, found by any XMP reader."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

RECIPE_NAMESPACE = "urn:hidt:xmp:1.0/"
_RECIPE = f"{{{RECIPE_NAMESPACE}}}recipe"
# The one shape this module writes the recipe in, so that a rerun replaces it.
_RECIPE_DESCRIPTION = re.compile(
    rb'<rdf:Description rdf:about="" xmlns:hidt="' + re.escape(RECIPE_NAMESPACE.encode()) + rb'"'
    rb' hidt:recipe="[^"]*"/>'
)
_RDF_END = b"</rdf:RDF>"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # no XML 1.0 character
_EMPTY_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>'
    b"</x:xmpmeta>"
    b'<?xpacket end="w"?>'
)


def xmp_for_output(xmp: bytes | None, size: tuple[int, int]) -> bytes | None:
    """The source's XMP for an upright output of `size` (width, height): tiff:Orientation 1
    and the pixel dimensions it names set to the output's."""
    if not xmp:
        return None
    width, height = size
    for name, value in (
        ("tiff:Orientation", 1),
        ("tiff:ImageWidth", width),
        ("tiff:ImageLength", height),
        ("exif:PixelXDimension", width),
        ("exif:PixelYDimension", height),
    ):
        xmp = _set_value(xmp, name.encode(), str(value).encode())
    return xmp


def check_recipe(recipe: str) -> None:
    """XMP is XML: a recipe may hold any text but control characters (tab and newline aside)."""
    if _NOT_XML.search(recipe):
        raise ValueError(f"a recipe is text without control characters, got {recipe!r}")


def with_recipe(xmp: bytes | None, recipe: str) -> bytes:
    """`xmp` (or a new packet) holding `recipe` (see check_recipe) as hidt:recipe, replacing
    an earlier one."""
    packet = _RECIPE_DESCRIPTION.sub(b"", xmp) if xmp else b""
    if _RDF_END not in packet:  # none, or not a packet this can merge into
        packet = _EMPTY_PACKET
    escaped = escape(recipe, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    description = (
        b'<rdf:Description rdf:about="" xmlns:hidt="'
        + RECIPE_NAMESPACE.encode()
        + b'" hidt:recipe="'
        + escaped.encode()
        + b'"/>'
    )
    at = packet.rindex(_RDF_END)
    return packet[:at] + description + packet[at:]


def recipe_of(xmp: bytes | str | None) -> str | None:
    """The hidt:recipe an XMP packet holds, as attribute or element, whatever its prefix."""
    if not xmp:
        return None
    try:
        root = ElementTree.fromstring(xmp)
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        if _RECIPE in element.attrib:
            return element.attrib[_RECIPE]
        if element.tag == _RECIPE:
            return element.text or ""
    return None


def _set_value(xmp: bytes, name: bytes, value: bytes) -> bytes:
    """Set a simple property in both of XMP's spellings: name="v" and <name>v</name>."""
    quoted = re.escape(name)
    xmp = re.sub(rb"(\b" + quoted + rb'\s*=\s*")[^"]*(")', rb"\g<1>" + value + rb"\g<2>", xmp)
    return re.sub(
        rb"(<" + quoted + rb">)[^<]*(</" + quoted + rb">)", rb"\g<1>" + value + rb"\g<2>", xmp
    )
