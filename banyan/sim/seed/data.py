"""Reference tables for the synthetic community: census shares, area codes, names and needs.

Sources: China's Seventh National Population Census (2020) age structure — 0–14: 17.95 %,
15–59: 63.35 %, 60+: 18.70 %, 65+: 13.50 %, males 51.24 % — and the GB/T 2260 administrative
division codes (a handful of real Zhejiang and other-province codes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgeBand:
    low: int
    high: int
    percent: float
    male_share: float


# Five-year bands of the 2020 census, each with its share of the population and of men.
AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand(0, 4, 5.47, 0.530),
    AgeBand(5, 9, 6.37, 0.535),
    AgeBand(10, 14, 6.11, 0.535),
    AgeBand(15, 19, 5.17, 0.535),
    AgeBand(20, 24, 5.32, 0.530),
    AgeBand(25, 29, 6.68, 0.520),
    AgeBand(30, 34, 8.79, 0.510),
    AgeBand(35, 39, 6.97, 0.510),
    AgeBand(40, 44, 6.62, 0.510),
    AgeBand(45, 49, 8.01, 0.505),
    AgeBand(50, 54, 8.73, 0.505),
    AgeBand(55, 59, 7.06, 0.500),
    AgeBand(60, 64, 5.20, 0.495),
    AgeBand(65, 69, 5.10, 0.490),
    AgeBand(70, 74, 3.55, 0.480),
    AgeBand(75, 79, 2.30, 0.470),
    AgeBand(80, 84, 1.50, 0.440),
    AgeBand(85, 89, 0.70, 0.400),
    AgeBand(90, 99, 0.35, 0.330),
)

# Share of people aged 60+ who live alone (the brief's 8 %).
LIVING_ALONE_SHARE = 0.08
# Share of residents who live here but are registered elsewhere (流入人口).
INFLOW_SHARE = 0.15
# Share registered here but living elsewhere (流出人口), mostly young adults.
OUTFLOW_SHARE = 0.02
HOUSEHOLDS_PER_GRID = 350
MINIMUM_GRIDS = 6


def marriage_rate(age: int) -> float:
    """Probability that a man of ``age`` lives with a wife (urban Zhejiang, rough)."""
    if age < 22:
        return 0.0
    if age < 25:
        return 0.10
    if age < 30:
        return 0.45
    if age < 35:
        return 0.78
    if age < 60:
        return 0.88
    if age < 70:
        return 0.85
    if age < 80:
        return 0.72
    return 0.50


# Weighted administrative division codes.
LOCAL_AREA_CODES: tuple[tuple[str, int], ...] = (
    ("330102", 60),  # 上城区
    ("330103", 12),  # 原下城区
    ("330104", 5),  # 原江干区
    ("330105", 4),  # 拱墅区
    ("330106", 4),  # 西湖区
    ("330108", 2),  # 滨江区
    ("330109", 2),  # 萧山区
    ("330110", 2),  # 余杭区
    ("330183", 1),  # 富阳区
    ("330185", 1),  # 临安区
    ("330122", 1),  # 桐庐县
    ("330203", 1),  # 宁波海曙
    ("330302", 1),  # 温州鹿城
    ("330602", 1),  # 绍兴越城
    ("330702", 1),  # 金华婺城
)

# Origins of inflow households: code, weight, registered address prefix.
INFLOW_ORIGINS: tuple[tuple[str, int, str], ...] = (
    ("341202", 8, "安徽省阜阳市颍州区"),
    ("340102", 4, "安徽省合肥市瑶海区"),
    ("361002", 4, "江西省抚州市临川区"),
    ("360102", 3, "江西省南昌市东湖区"),
    ("411302", 5, "河南省南阳市宛城区"),
    ("410102", 3, "河南省郑州市中原区"),
    ("420102", 3, "湖北省武汉市江岸区"),
    ("430102", 3, "湖南省长沙市芙蓉区"),
    ("510104", 3, "四川省成都市锦江区"),
    ("520102", 4, "贵州省贵阳市南明区"),
    ("500101", 3, "重庆市万州区"),
    ("320102", 2, "江苏省南京市玄武区"),
    ("310101", 1, "上海市黄浦区"),
    ("370102", 2, "山东省济南市历下区"),
    ("350102", 2, "福建省福州市鼓楼区"),
    ("530102", 1, "云南省昆明市五华区"),
    ("330302", 4, "浙江省温州市鹿城区"),
    ("330702", 3, "浙江省金华市婺城区"),
    ("331002", 3, "浙江省台州市椒江区"),
    ("330802", 2, "浙江省衢州市柯城区"),
    ("330502", 2, "浙江省湖州市吴兴区"),
)

MOBILE_PREFIXES: list[str] = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 170 173 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
).split()

# Letters used on Chinese plates (I and O are never used).
PLATE_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
PLATE_DIGITS = "0123456789"

CHINESE_NUMERALS = "零一二三四五六七八九十"


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一 (enough for grid names)."""
    if n <= 10:
        return CHINESE_NUMERALS[n]
    tens, ones = divmod(n, 10)
    prefix = "" if tens == 1 else CHINESE_NUMERALS[tens]
    return prefix + "十" + (CHINESE_NUMERALS[ones] if ones else "")


CHRONIC_CONDITIONS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("高血压", ("苯磺酸氨氯地平片", "厄贝沙坦片"), 50),
    ("2型糖尿病", ("二甲双胍片", "阿卡波糖片"), 25),
    ("冠心病", ("阿司匹林肠溶片", "阿托伐他汀钙片"), 12),
    ("慢性阻塞性肺疾病", ("噻托溴铵吸入剂",), 6),
    ("脑卒中后遗症", ("氯吡格雷片",), 5),
    ("慢性肾病", ("复方α-酮酸片",), 3),
    ("骨关节炎", ("氨基葡萄糖胶囊",), 8),
)
CHRONIC_NEEDS = ("按时服药提醒", "每周血压测量", "家庭医生签约随访", "每月血糖监测", "陪同复诊")

DISABILITY_KINDS: tuple[tuple[str, int], ...] = (
    ("肢体残疾", 45),
    ("视力残疾", 15),
    ("听力残疾", 15),
    ("言语残疾", 3),
    ("智力残疾", 8),
    ("精神残疾", 8),
    ("多重残疾", 6),
)
MOBILITY_AIDS = ("轮椅", "助行器", "拐杖", "无需辅具")
DISABILITY_NEEDS = ("无障碍出行协助", "代购生活用品", "康复训练", "上门理发", "紧急疏散时需要协助")

ELDERLY_NEEDS = ("每日问候", "每周上门探访", "助餐送餐", "助浴", "代缴水电费", "陪同就医", "紧急呼叫器")
DEMENTIA_STAGES = ("轻度", "中度")
EMPTY_NEST_NEEDS = ("每周电话问候", "节日慰问", "助餐")
MINOR_NEEDS = ("课后托管", "学业辅导", "心理关爱", "假期看护")
LOW_INCOME_SUBSIDIES = ("最低生活保障", "低保边缘家庭", "特困供养")
FAMILY_CALLS = {"M": "儿子", "F": "女儿"}
