"""Invented names for the synthetic city (合成数据). Districts say 合成 so that nobody takes
them for real ones; subdistricts and communities are built from made-up stems that no real
place or the sample 中心路街道 uses; people are drawn from the sample's invented names.

Every function takes arrays of indices and returns an object array of names, so that the
loader names 10^5 places without a Python loop per row.
"""
import numpy as np

from data.sample_names import GIVEN, SURNAMES

DISTRICT_STEMS = ["东", "西", "南", "北", "中", "新", "高新", "滨河", "湖滨", "山前", "经开", "港城",
                  "航空", "云台", "龙湖", "凤凰", "麒麟", "金岸", "银湾", "青峰"]
PLACE_STEMS = ["青禾", "云栖", "松涛", "柳岸", "桃源", "杏坛", "荷塘", "竹溪", "梅岭", "兰亭",
               "菊圃", "星河", "月湾", "晴川", "霞光", "翠屏", "锦屏", "碧波", "清泉", "石桥",
               "玉带", "金沙", "银湖", "凤鸣", "鹤翔", "鹿原", "麦田", "稻香", "春华", "秋实",
               "朗润", "和煦", "安澜", "泰宁", "永宁", "康宁", "瑞丰", "嘉禾", "芳草", "听雨"]
PLACE_SUFFIXES = ["路", "街", "里", "湾", "桥", "坊", "园", "岭"]
COMPOUND_STEMS = ["锦绣", "阳光", "康乐", "和谐", "翠竹", "福泽", "金华", "桂花", "丁香", "紫荆",
                  "银杏", "枫林", "东方", "锦江", "天和", "泰和", "安居", "兴业", "祥和", "瑞景",
                  "青松", "明珠", "梧桐", "华庭", "书香", "碧水", "绿洲", "春晖", "怡景", "君悦",
                  "恒盛", "聚福"]
COMPOUND_SUFFIXES = ["家园", "花园", "小区", "苑", "嘉园", "雅居", "新村", "公寓"]
DIGITS = "零一二三四五六七八九"
GIVEN_NAMES = [GIVEN[i:i + 2] for i in range(0, len(GIVEN) - 1, 2)]


def numeral(n):
    """1–99 in Chinese numerals (三, 十二, 四十), larger numbers in digits."""
    if n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if not tens:
        return DIGITS[ones]
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def districts(count):
    """合成东区, 合成西区 … then 合成第21区 …"""
    return np.array([f"合成{DISTRICT_STEMS[d]}区" if d < len(DISTRICT_STEMS) else f"合成第{d + 1}区"
                     for d in range(count)], dtype=object)


def place_stems(count):
    """青禾路, 云栖路 … 青禾街 … and, past every pairing, 青禾路2 …: one stem per subdistrict."""
    stems = len(PLACE_STEMS) * len(PLACE_SUFFIXES)
    out = []
    for s in range(count):
        base = PLACE_STEMS[s % len(PLACE_STEMS)] + PLACE_SUFFIXES[(s // len(PLACE_STEMS)) % len(PLACE_SUFFIXES)]
        out.append(base + (str(s // stems + 1) if s >= stems else ""))
    return np.array(out, dtype=object)


def subdistricts(stems):
    return stems + "街道"


def communities(stems, ordinal):
    """青禾路第一社区 …: the subdistrict's stem and the community's number in it (1-based)."""
    return stems + np.array([f"第{numeral(int(n))}社区" for n in ordinal], dtype=object)


def compounds(index):
    """锦绣家园, 阳光花园 …: 24 consecutive indices (one community) never repeat a name."""
    stem = np.array(COMPOUND_STEMS, dtype=object)[index % len(COMPOUND_STEMS)]
    suffix = np.array(COMPOUND_SUFFIXES, dtype=object)[(index // 3) % len(COMPOUND_SUFFIXES)]
    return stem + suffix


def people(index):
    """Invented personal names (王建国 …) for grid leaders and 三长."""
    surname = np.array(list(SURNAMES), dtype=object)[index % len(SURNAMES)]
    given = np.array(GIVEN_NAMES, dtype=object)[(index // len(SURNAMES) + index) % len(GIVEN_NAMES)]
    return surname + given


def phones(prefix, index):
    """Reserved-looking numbers: a fixed seven-digit prefix and four digits."""
    return np.char.add(prefix, np.char.zfill((index % 10000).astype(str), 4)).astype(object)
