"""Fixed data for the demo dataset (bot.demo.seed): people, companies, products, texts.

Everything here is invented. Names are drawn from common Chinese surnames and given names; any
match with a real person or company is accidental.
"""
from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

# -- staff ------------------------------------------------------------------------------------
TEAMS = ("华东一部", "华东二部")


class StaffSpec(NamedTuple):
    login: str
    name: str
    role: str  # crm_core.staff.Role value
    team: str | None
    supervisor: str | None  # login


# Order matters: ids follow it, and the first manager is the one the demo chats as.
STAFF = (
    StaffSpec("chenjing", "陈静", "supervisor", "华东一部", None),
    StaffSpec("liuyang", "刘洋", "supervisor", "华东二部", None),
    StaffSpec("wangfang", "王芳", "manager", "华东一部", "chenjing"),
    StaffSpec("lijun", "李军", "manager", "华东一部", "chenjing"),
    StaffSpec("zhouqiang", "周强", "manager", "华东一部", "chenjing"),
    StaffSpec("sunli", "孙丽", "manager", "华东二部", "liuyang"),
    StaffSpec("huanglei", "黄磊", "manager", "华东二部", "liuyang"),
    StaffSpec("xumin", "徐敏", "manager", "华东二部", "liuyang"),
    StaffSpec("zhaolei", "赵蕾", "risk", None, None),
    StaffSpec("wuhao", "吴昊", "compliance", None, None),
    StaffSpec("gaoyan", "高岩", "admin", None, None),
)

# How many clients each manager gets (individuals and institutions together).
CLIENTS_PER_MANAGER = {"wangfang": 70, "lijun": 50, "zhouqiang": 50,
                       "sunli": 50, "huanglei": 50, "xumin": 50}

# -- people -----------------------------------------------------------------------------------
# Common surnames with rough population shares (per mille), most frequent first.
SURNAMES = (
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 45), ("杨", 31), ("黄", 22), ("赵", 20),
    ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 13), ("朱", 13), ("胡", 12), ("郭", 11),
    ("何", 10), ("林", 10), ("高", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 7), ("宋", 7),
    ("唐", 7), ("许", 6), ("韩", 6), ("冯", 6), ("邓", 6), ("曹", 6), ("彭", 5), ("曾", 5),
    ("肖", 5), ("田", 5), ("董", 5), ("袁", 5), ("潘", 4), ("于", 4), ("蒋", 4), ("蔡", 4),
    ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 3), ("魏", 3), ("吕", 3), ("丁", 3),
    ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3),
    ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 3), ("夏", 3),
    ("方", 2), ("白", 2), ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2),
    ("尹", 2), ("薛", 2), ("段", 2), ("雷", 2), ("侯", 2), ("史", 2), ("陶", 2), ("顾", 2),
    ("毛", 2), ("郝", 2), ("龚", 2), ("邵", 2), ("钱", 2), ("严", 2), ("戴", 2), ("欧阳", 1),
)

GIVEN_MALE = (
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "斌", "波",
    "峰", "浩", "凯", "亮", "健", "昊", "宇", "鑫", "建华", "建国", "志强", "志刚", "国强",
    "建军", "海涛", "德明", "立新", "卫东", "宏伟", "振华", "晓东", "晓明", "俊杰", "浩然",
    "宇航", "思远", "文博", "一鸣", "子轩", "永刚", "春生", "国平", "建平", "文军", "海波",
    "金龙", "家豪", "天宇", "明辉", "志明", "少华", "长江", "光明", "国栋", "学军",
)
GIVEN_FEMALE = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "琳", "颖", "倩", "蕾", "婷", "雪", "燕",
    "秀英", "秀兰", "桂英", "玉兰", "海燕", "红梅", "丽华", "春梅", "晓燕", "慧敏", "雪梅",
    "文静", "佳琪", "欣怡", "梓萱", "婷婷", "丹丹", "晓丽", "美玲", "丽娟", "淑珍", "凤英",
    "思琪", "嘉怡", "梦瑶", "诗涵", "雅琴", "月华", "素芬", "玉珍", "晓红", "建英", "小燕",
)

ENGLISH_NAMES = ("John Smith", "Emily Chen", "Michael Wong", "Sarah Lee")

# Institutions: (name, style). Style picks products and tags (see STYLES).
INSTITUTIONS = (
    ("上海汇远投资管理有限公司", "quant"),
    ("宁波甬达贸易有限公司", "black_hedge"),
    ("杭州鼎新资产管理有限公司", "quant"),
    ("苏州润禾粮油有限公司", "agri_hedge"),
    ("南京金陵钢铁贸易有限公司", "black_hedge"),
    ("无锡华塑化工有限公司", "energy_hedge"),
    ("上海申联有色金属有限公司", "metal_hedge"),
    ("绍兴越棉纺织有限公司", "agri_hedge"),
    ("温州瓯江私募基金管理有限公司", "quant"),
    ("合肥庆丰农业发展有限公司", "agri_hedge"),
)

# Residential area codes (the first six digits of an ID number) in the region the teams serve.
AREA_CODES = ("310101", "310104", "310105", "310112", "310115", "320102", "320106", "320205",
              "320505", "320583", "330102", "330106", "330203", "330212", "330302", "330602",
              "340104", "340111", "320282", "330782")

MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "166", "173", "177", "180",
                   "181", "182", "183", "185", "186", "187", "188", "189", "191", "199")

# -- products ---------------------------------------------------------------------------------


class Product(NamedTuple):
    exchange: str
    code: str  # product code as the exchange spells it (CZCE and CFFEX upper case)
    name: str
    multiplier: int
    price: Decimal  # a typical price level
    tick: Decimal
    margin_rate: Decimal  # the broker's rate (exchange rate plus markup)
    months: tuple[int, ...]  # months whose contracts are usually the most traded
    months_ahead: int  # the most traded contract is at least this many months out
    daily_move: int  # typical daily price move, in basis points


ALL_MONTHS = tuple(range(1, 13))
EVEN_MONTHS = (2, 4, 6, 8, 10, 12)
D = Decimal
PRODUCTS = (
    Product("SHFE", "rb", "螺纹钢", 10, D("3200"), D("1"), D("0.10"), (1, 5, 10), 2, 120),
    Product("SHFE", "cu", "铜", 5, D("78000"), D("10"), D("0.12"), ALL_MONTHS, 2, 100),
    Product("SHFE", "au", "黄金", 1000, D("920"), D("0.02"), D("0.14"), EVEN_MONTHS, 2, 90),
    Product("SHFE", "al", "铝", 5, D("20500"), D("5"), D("0.12"), ALL_MONTHS, 2, 90),
    Product("SHFE", "ni", "镍", 1, D("122000"), D("10"), D("0.14"), ALL_MONTHS, 2, 150),
    Product("SHFE", "ag", "白银", 15, D("10500"), D("1"), D("0.14"), EVEN_MONTHS, 2, 150),
    Product("DCE", "i", "铁矿石", 100, D("780"), D("0.5"), D("0.13"), (1, 5, 9), 2, 160),
    Product("DCE", "m", "豆粕", 10, D("2950"), D("1"), D("0.10"), (1, 5, 9), 2, 100),
    Product("DCE", "y", "豆油", 10, D("8200"), D("2"), D("0.10"), (1, 5, 9), 2, 110),
    Product("DCE", "p", "棕榈油", 10, D("9000"), D("2"), D("0.12"), (1, 5, 9), 2, 150),
    Product("DCE", "jm", "焦煤", 60, D("1250"), D("0.5"), D("0.15"), (1, 5, 9), 2, 200),
    Product("DCE", "j", "焦炭", 100, D("1750"), D("0.5"), D("0.15"), (1, 5, 9), 2, 180),
    Product("CZCE", "MA", "甲醇", 10, D("2400"), D("1"), D("0.10"), (1, 5, 9), 2, 130),
    Product("CZCE", "SR", "白糖", 10, D("5600"), D("1"), D("0.09"), (1, 5, 9), 2, 80),
    Product("CZCE", "CF", "棉花", 5, D("13800"), D("5"), D("0.09"), (1, 5, 9), 2, 90),
    Product("CZCE", "TA", "PTA", 5, D("4700"), D("2"), D("0.09"), (1, 5, 9), 2, 120),
    Product("CZCE", "AP", "苹果", 10, D("8000"), D("1"), D("0.12"), (1, 5, 10), 2, 150),
    Product("CFFEX", "IF", "沪深300股指", 300, D("4600"), D("0.2"), D("0.14"), ALL_MONTHS, 1, 110),
    Product("CFFEX", "IH", "上证50股指", 300, D("3000"), D("0.2"), D("0.14"), ALL_MONTHS, 1, 100),
    Product("CFFEX", "IC", "中证500股指", 200, D("7200"), D("0.2"), D("0.16"), ALL_MONTHS, 1, 140),
    Product("CFFEX", "IM", "中证1000股指", 200, D("7400"), D("0.2"), D("0.16"), ALL_MONTHS, 1, 160),
    Product("CFFEX", "T", "10年期国债", 10000, D("108.5"), D("0.005"), D("0.03"), (3, 6, 9, 12), 1, 15),
    Product("INE", "sc", "原油", 1000, D("500"), D("0.1"), D("0.15"), ALL_MONTHS, 2, 200),
    Product("INE", "lu", "低硫燃料油", 10, D("3400"), D("1"), D("0.12"), ALL_MONTHS, 2, 170),
    Product("INE", "nr", "20号胶", 10, D("12500"), D("5"), D("0.12"), ALL_MONTHS, 2, 130),
    Product("GFEX", "si", "工业硅", 5, D("8800"), D("5"), D("0.12"), ALL_MONTHS, 2, 170),
    Product("GFEX", "lc", "碳酸锂", 1, D("75000"), D("20"), D("0.15"), ALL_MONTHS, 2, 250),
)
del D


class Style(NamedTuple):
    products: tuple[str, ...]  # product codes
    tag: str | None  # the tag a client of this style usually carries
    hedge: bool = False


STYLES = {
    "black": Style(("rb", "i", "jm", "j", "MA"), "黑色系"),
    "agri": Style(("m", "y", "p", "SR", "CF", "AP"), "农产品"),
    "metal": Style(("cu", "al", "ni", "au", "ag"), "有色"),
    "energy": Style(("sc", "lu", "MA", "TA", "nr"), "能化"),
    "index": Style(("IF", "IH", "IC", "IM", "T"), "股指"),
    "new_energy": Style(("si", "lc", "ni"), "新能源"),
    "mixed": Style(tuple(p.code for p in PRODUCTS), None),
    "quant": Style(("IF", "IC", "IM", "T", "rb", "i", "m", "cu", "sc", "MA", "si", "lc"), "量化"),
    "black_hedge": Style(("rb", "i", "jm", "j"), "套保", hedge=True),
    "agri_hedge": Style(("m", "y", "p", "CF", "SR"), "套保", hedge=True),
    "metal_hedge": Style(("cu", "al", "ni"), "套保", hedge=True),
    "energy_hedge": Style(("MA", "TA", "lu"), "套保", hedge=True),
}
# Individual clients' styles with their weights.
INDIVIDUAL_STYLES = (("black", 22), ("agri", 18), ("metal", 14), ("energy", 12), ("index", 10),
                     ("new_energy", 6), ("mixed", 12), ("quant", 6))

# -- interactions -----------------------------------------------------------------------------
# (channel, summary) pairs; crm_core.interactions.Channel values.
INTERACTION_NOTES = (
    ("phone", "电话沟通近期行情，客户考虑逢低加仓"),
    ("phone", "电话提醒保证金占用偏高，建议适当减仓"),
    ("visit", "上门拜访，介绍套期保值方案"),
    ("visit", "拜访客户，了解年底资金安排"),
    ("wechat", "微信发送晨会纪要，客户关注黑色系走势"),
    ("wechat", "微信沟通手续费标准，客户希望下调"),
    ("email", "邮件发送月度对账单说明"),
    ("phone", "回访开户体验，客户对交易软件有疑问，已远程协助"),
    ("visit", "陪同客户参加期货公司策略会"),
    ("wechat", "客户咨询股指期货开户条件，已发送资料"),
    ("phone", "电话确认出入金到账情况"),
    ("other", "在营业部接待客户，办理适当性评估更新"),
)
