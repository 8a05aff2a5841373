"""The offline basemap: map tiles read from one local MBTiles or PMTiles file (``BANYAN_BASEMAP_FILE``,
``settings.BANYAN_BASEMAP["FILE"]``).

Banyan serves the tiles itself (``/tiles/{z}/{x}/{y}``, banyan/places/tile_views.py): no tile server,
no internet. The maps draw raster tiles (png, jpg, webp) under Banyan's own GeoJSON drawing; a file of
vector tiles (pbf, mvt, mlt) is refused at start-up by a system check (banyan/places/checks.py).

Both formats address tiles by zoom, column and row in the XYZ scheme the maps use (row 0 at the top):
MBTiles stores rows in the TMS scheme (row 0 at the bottom), flipped here; PMTiles stores XYZ.

The file is opened once per process, on first use, and shared by every thread: MBTiles through one
read-only SQLite connection behind a lock, PMTiles through a read-only memory map (reads of a map need
no lock). A file replaced on disk (another modification time or size) is opened afresh.
"""

from __future__ import annotations

import gzip
import html
import json
import logging
import mmap
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.html import strip_tags
from pmtiles.tile import (
    Compression,
    Entry,
    MagicNumberNotFound,
    SpecVersionUnsupported,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)

logger = logging.getLogger(__name__)

# What a damaged PMTiles file raises while its header, metadata or directories are read.
_DAMAGED = (OSError, ValueError, EOFError, IndexError, KeyError, TypeError, zlib.error)

# What the maps draw (Leaflet's <img> tiles), and the content type each is served with.
RASTER_FORMATS = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
VECTOR_FORMATS = ("pbf", "mvt", "mlt")
ACCEPTED = ", ".join(RASTER_FORMATS)
MAX_ZOOM = 30  # a PMTiles tile id is 64 bits; no real basemap goes beyond zoom 24
SQLITE_MAGIC = b"SQLite format 3\x00"
PMTILES_MAGIC = b"PMTiles"
WORLD = (-180.0, -85.0511287798066, 180.0, 85.0511287798066)

_FORMAT_ALIASES = {"jpeg": "jpg", "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "mvt": "pbf"}
_PMTILES_FORMATS = {
    TileType.PNG: "png",
    TileType.JPEG: "jpg",
    TileType.WEBP: "webp",
    TileType.AVIF: "avif",
    TileType.MVT: "pbf",
    TileType.MLT: "mlt",
}


class BasemapError(Exception):
    """The basemap file cannot be used: the message names the file and what is wrong."""


@dataclass(frozen=True)
class TileSetInfo:
    """What the maps need to know about a tile file: ``meta.json``."""

    format: str  # png, jpg, webp (drawn), or pbf, mlt … (refused)
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north (WGS-84 degrees)
    attribution: str  # plain text: the file's attribution with any markup taken out
    name: str

    @property
    def is_raster(self) -> bool:
        return self.format in RASTER_FORMATS

    @property
    def content_type(self) -> str:
        return RASTER_FORMATS.get(self.format, "application/octet-stream")

    def as_json(self) -> dict[str, object]:
        return {
            "format": self.format,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "bounds": list(self.bounds),
            "attribution": self.attribution,
            "name": self.name,
        }


class TileSet(Protocol):
    path: Path
    info: TileSetInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes as the maps draw them, or None where the file has none."""


def is_valid_tile(z: int, x: int, y: int) -> bool:
    """A tile that exists on the map of the world: zoom 0 … MAX_ZOOM, column and row 0 … 2^z − 1."""
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def plain_attribution(value: object) -> str:
    """The file's attribution as plain text (``<a href=…>© OpenStreetMap</a>`` → ``© OpenStreetMap``):
    the maps show it with textContent, never as markup."""
    if not isinstance(value, str):
        return ""
    return " ".join(html.unescape(strip_tags(value)).split())[:500]


def sniff_format(data: bytes) -> str:
    """A raster tile's format from its first bytes; ``pbf`` for anything else (gzip or raw protobuf)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "pbf"


def _bounds(values: object) -> tuple[float, float, float, float]:
    """West, south, east, north from ``"w,s,e,n"`` or a list; the world where they make no sense."""
    parts = values.split(",") if isinstance(values, str) else values
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        return WORLD
    try:
        west, south, east, north = (float(value) for value in parts)
    except (TypeError, ValueError):
        return WORLD
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        return WORLD
    return (west, south, east, north)


class MBTiles:
    """An MBTiles file (SQLite: ``tiles`` with TMS rows, ``metadata`` of names and values)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            metadata = dict(self._connection.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._connection.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
            first = self._connection.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise BasemapError(f"{path}: not a readable MBTiles file ({exc}).") from None
        if zooms[0] is None:
            raise BasemapError(f"{path}: the MBTiles file holds no tiles.")
        declared = str(metadata.get("format") or "").strip().lower()
        tile_format = _FORMAT_ALIASES.get(declared, declared) or sniff_format(bytes(first[0] or b""))
        self.info = TileSetInfo(
            format=tile_format,
            minzoom=_integer(metadata.get("minzoom"), zooms[0]),
            maxzoom=_integer(metadata.get("maxzoom"), zooms[1]),
            bounds=_bounds(metadata.get("bounds")),
            attribution=plain_attribution(metadata.get("attribution")),
            name=str(metadata.get("name") or path.stem)[:200],
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        row = 2**z - 1 - y  # XYZ (row 0 at the top) → TMS (row 0 at the bottom)
        try:
            with self._lock:
                found = self._connection.execute(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (z, x, row),
                ).fetchone()
        except sqlite3.Error as exc:
            logger.warning("basemap %s: tile %s/%s/%s unreadable (%r)", self.path, z, x, y, exc)
            return None
        return bytes(found[0]) if found and found[0] is not None else None


def _integer(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return int(default)


class PMTiles:
    """A PMTiles (version 3) file, read through a memory map; its directories are kept once read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with path.open("rb") as file:
                self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            self.header = deserialize_header(self._map[0:127])
            start, length = self.header["metadata_offset"], self.header["metadata_length"]
            raw = self._map[start : start + length]
            if self.header["internal_compression"] == Compression.GZIP:
                raw = gzip.decompress(raw)
            metadata = json.loads(raw) if raw else {}
        except (*_DAMAGED, MagicNumberNotFound, SpecVersionUnsupported) as exc:
            raise BasemapError(f"{path}: not a readable PMTiles (version 3) file ({exc!r}).") from None
        if not isinstance(metadata, dict):
            metadata = {}
        compression = self.header["tile_compression"]
        if compression not in (Compression.NONE, Compression.UNKNOWN, Compression.GZIP):
            raise BasemapError(
                f"{path}: its tiles are compressed with {compression.name.lower()}; "
                "Banyan reads uncompressed or gzip tiles."
            )
        self._gzip = compression == Compression.GZIP
        self._directories: dict[tuple[int, int], list[Entry]] = {}
        header = self.header
        self.info = TileSetInfo(
            format=_PMTILES_FORMATS.get(header["tile_type"], "unknown"),
            minzoom=header["min_zoom"],
            maxzoom=header["max_zoom"],
            bounds=_bounds(
                [
                    header["min_lon_e7"] / 1e7,
                    header["min_lat_e7"] / 1e7,
                    header["max_lon_e7"] / 1e7,
                    header["max_lat_e7"] / 1e7,
                ]
            ),
            attribution=plain_attribution(metadata.get("attribution")),
            name=str(metadata.get("name") or path.stem)[:200],
        )

    def _directory(self, offset: int, length: int) -> list[Entry]:
        """A directory, read once (a dict's get and set are atomic: threads may share it)."""
        key = (offset, length)
        directory = self._directories.get(key)
        if directory is None:
            directory = deserialize_directory(self._map[offset : offset + length])
            if len(self._directories) < 256:  # the root and the leaves in use, not a whole planet's
                self._directories[key] = directory
        return directory

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        try:
            return self._tile(z, x, y)
        except _DAMAGED as exc:
            logger.warning("basemap %s: tile %s/%s/%s unreadable (%r)", self.path, z, x, y, exc)
            return None

    def _tile(self, z: int, x: int, y: int) -> bytes | None:
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = self.header["root_offset"], self.header["root_length"]
        for _depth in range(4):  # the specification's deepest directory tree
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length == 0:  # a leaf directory
                offset, length = self.header["leaf_directory_offset"] + entry.offset, entry.length
                continue
            start = self.header["tile_data_offset"] + entry.offset
            data = self._map[start : start + entry.length]
            return gzip.decompress(data) if self._gzip else data
        return None


def open_tileset(path: Path) -> MBTiles | PMTiles:
    """The file as a tile set, told apart by its first bytes (whatever its name); BasemapError if it is
    missing, unreadable, or neither MBTiles nor PMTiles."""
    try:
        with path.open("rb") as file:
            magic = file.read(16)
    except OSError as exc:
        raise BasemapError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if magic.startswith(PMTILES_MAGIC):
        return PMTiles(path)
    if magic == SQLITE_MAGIC:
        return MBTiles(path)
    raise BasemapError(f"{path}: neither an MBTiles (SQLite) nor a PMTiles file.")


_opened: dict[tuple[str, int, int], MBTiles | PMTiles] = {}
_opening = threading.Lock()


def configured_path() -> Path | None:
    """``BANYAN_BASEMAP["FILE"]`` (the environment's ``BANYAN_BASEMAP_FILE``), or None."""
    value = getattr(settings, "BANYAN_BASEMAP", {}).get("FILE") or ""
    return Path(value) if value else None


def basemap() -> MBTiles | PMTiles | None:
    """The configured basemap, opened once per process; None when none is configured or it cannot be
    used (the system check says why at start-up)."""
    path = configured_path()
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    key = (str(path), status.st_mtime_ns, status.st_size)
    with _opening:
        if key not in _opened:
            try:
                tileset = open_tileset(path)
            except BasemapError:
                return None
            _opened.clear()  # a replaced file: the old one is not read again
            _opened[key] = tileset
        return _opened[key]
