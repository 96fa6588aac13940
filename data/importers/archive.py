"""Zip archives (zipped Shapefiles, and .xlsx workbooks, which are zips too) checked from
their central directory before anything is unpacked: no zip bomb, no symlink, no member
path that leaves the archive.

GDAL (/vsizip/) and openpyxl then read the archive themselves; both stop at each member's
declared size, so the sizes checked here bound what is unpacked.
"""
import stat
import zipfile
from pathlib import PurePosixPath

from data.importers import ImportFailed

# All members together, unpacked: a city's compounds as a Shapefile are well under this.
MAX_TOTAL_BYTES = 1024 ** 3
# Unpacked ÷ packed for one member. Text and .dbf columns padded with blanks pack 10–50×;
# a run of zeros packs about 1,000×. Members smaller than RATIO_FROM_BYTES are not judged.
MAX_RATIO = 200
RATIO_FROM_BYTES = 1024 ** 2


def _mb(n):
    return f"{n / 1024 ** 2:,.0f} MB"


def _unsafe_path(name):
    """Why ``name`` would land outside the folder it is unpacked into, or None."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "是绝对路径"
    if ".." in PurePosixPath(posix).parts:
        return "路径含“..”，会写到压缩包之外"
    return None


def check_zip(path):
    """Refuse a dangerous zip; ImportFailed names each bad member. Nothing is unpacked."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed([f"无法读取 zip 文件 {PurePosixPath(str(path)).name}：{exc}"]) from None
    errors = []
    total = 0
    for info in members:
        label = f"压缩包成员“{info.filename}”"
        if stat.S_ISLNK(info.external_attr >> 16):
            errors.append(f"{label}是符号链接，拒绝导入")
        reason = _unsafe_path(info.filename)
        if reason:
            errors.append(f"{label}{reason}，拒绝导入")
        total += info.file_size
        if info.file_size >= RATIO_FROM_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_RATIO:
                errors.append(f"{label}解压后 {_mb(info.file_size)}，压缩比 {ratio:,.0f}:1 超过上限 "
                              f"{MAX_RATIO}:1（疑似压缩炸弹），拒绝导入")
    if total > MAX_TOTAL_BYTES:
        errors.append(f"压缩包解压后共 {_mb(total)}，超过上限 {_mb(MAX_TOTAL_BYTES)}，拒绝导入")
    if errors:
        raise ImportFailed(errors)
