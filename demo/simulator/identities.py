"""Believable Chinese people, places, phones, ID and bank card numbers for the demo.

Every function draws from the numpy Generator it is given, so the same seed yields the same
people.
"""

import datetime as dt

import numpy as np

# Province (its code, as stored in Merchant.region), its full name, and (city, district, county code).
REGIONS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "zhejiang": (
        "浙江省",
        [
            ("杭州市", "西湖区", "330106"),
            ("杭州市", "余杭区", "330110"),
            ("金华市", "义乌市", "330782"),
            ("宁波市", "鄞州区", "330212"),
        ],
    ),
    "guangdong": (
        "广东省",
        [
            ("广州市", "天河区", "440106"),
            ("深圳市", "福田区", "440304"),
            ("东莞市", "虎门镇", "441900"),
            ("汕头市", "潮阳区", "440513"),
        ],
    ),
    "jiangsu": (
        "江苏省",
        [
            ("南京市", "玄武区", "320102"),
            ("苏州市", "姑苏区", "320508"),
            ("苏州市", "常熟市", "320581"),
        ],
    ),
    "fujian": (
        "福建省",
        [
            ("福州市", "鼓楼区", "350102"),
            ("泉州市", "晋江市", "350582"),
            ("厦门市", "思明区", "350203"),
        ],
    ),
    "shandong": (
        "山东省",
        [
            ("济南市", "历下区", "370102"),
            ("青岛市", "市南区", "370202"),
            ("临沂市", "兰山区", "371302"),
        ],
    ),
    "shanghai": ("上海市", [("", "黄浦区", "310101"), ("", "浦东新区", "310115")]),
    "beijing": ("北京市", [("", "东城区", "110101"), ("", "朝阳区", "110105")]),
    "sichuan": ("四川省", [("成都市", "锦江区", "510104"), ("成都市", "武侯区", "510107")]),
    "henan": ("河南省", [("郑州市", "中原区", "410102"), ("郑州市", "金水区", "410105")]),
    "hubei": ("湖北省", [("武汉市", "江岸区", "420102"), ("武汉市", "洪山区", "420111")]),
}
REGION_NAMES = list(REGIONS)
REGION_P = np.array([0.22, 0.22, 0.12, 0.10, 0.08, 0.07, 0.05, 0.05, 0.05, 0.04])

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚辉玲华飞鑫波斌宇浩凯建峰婷雪琳晨欣怡佳俊鹏志红梅兰英文海林云春东亮成国庆"
)
ROADS = [
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "文三路",
    "新华路",
    "和平路",
    "长江路",
    "黄河路",
    "胜利路",
    "工业路",
    "科技路",
    "商贸城路",
    "花园路",
    "学院路",
]
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
]
# (issuer identification number, card length): ICBC, ABC, CCB, BOCOM, BOC, CMB, CMBC.
CARD_BINS = [
    ("622202", 19),
    ("622848", 19),
    ("621700", 19),
    ("622262", 19),
    ("621661", 19),
    ("622588", 16),
    ("622609", 16),
]

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

CATEGORIES_B2C = [
    "apparel",
    "electronics",
    "food",
    "home",
    "beauty",
    "baby",
    "hardware",
    "textiles",
    "bags",
    "pets",
]
CATEGORIES_B2C_P = np.array([0.22, 0.12, 0.14, 0.11, 0.10, 0.09, 0.05, 0.06, 0.06, 0.05])
CATEGORIES_B2B = ["hardware", "textiles", "apparel", "home", "electronics", "packaging", "food"]
CATEGORIES_B2B_P = np.array([0.22, 0.2, 0.18, 0.14, 0.12, 0.08, 0.06])
# Typical order in fen on a B2C shop of each category; B2B orders are wholesale lots.
TICKET_B2C_FEN = {
    "apparel": 12_000,
    "electronics": 25_000,
    "food": 6_000,
    "home": 15_000,
    "beauty": 10_000,
    "baby": 14_000,
    "hardware": 8_000,
    "textiles": 9_000,
    "bags": 16_000,
    "pets": 7_000,
}
TICKET_B2B_FEN = {
    "hardware": 280_000,
    "textiles": 450_000,
    "apparel": 380_000,
    "home": 320_000,
    "electronics": 520_000,
    "packaging": 180_000,
    "food": 240_000,
}
SHOP_WORDS = {
    "apparel": ["服饰", "女装", "男装", "潮牌"],
    "electronics": ["数码", "3C", "手机配件"],
    "food": ["零食", "茶叶", "特产"],
    "home": ["家居", "家纺", "收纳"],
    "beauty": ["美妆", "护肤"],
    "baby": ["母婴", "童装"],
    "hardware": ["五金", "工具"],
    "textiles": ["布艺", "面料"],
    "bags": ["箱包", "皮具"],
    "pets": ["宠物", "萌宠"],
}
SHOP_SUFFIXES = ["旗舰店", "专营店", "小铺", "精品店", "工作室", "家"]
FIRM_WORDS = {
    "hardware": "五金制品",
    "textiles": "纺织品",
    "apparel": "服饰",
    "home": "家居用品",
    "electronics": "电子科技",
    "packaging": "包装材料",
    "food": "食品",
}
BRAND_CHARS = list("恒达鑫源华泰盛隆兴旺宏利永康嘉德瑞丰金美新锦博创伟顺通远")
FIRM_SUFFIXES = ["有限公司", "实业有限公司", "贸易有限公司", "制造厂"]


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def person_name(rng: np.random.Generator) -> str:
    given_length = 1 if rng.random() < 0.35 else 2
    return _pick(rng, SURNAMES) + "".join(_pick(rng, GIVEN) for _ in range(given_length))


def national_id_check_digit(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of a resident ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_national_id(value: str) -> bool:
    return (
        len(value) == 18 and value[:17].isdigit() and national_id_check_digit(value[:17]) == value[17].upper()
    )


def national_id(rng: np.random.Generator, county_code: str, born_on: dt.date, taken: set[str]) -> str:
    """An 18-character ID number with a valid check digit, unique within `taken`."""
    sequence = int(rng.integers(1, 999))
    for step in range(1000):
        first17 = f"{county_code}{born_on:%Y%m%d}{(sequence + step) % 999 + 1:03d}"
        value = first17 + national_id_check_digit(first17)
        if value not in taken:
            taken.add(value)
            return value
    raise RuntimeError("no free ID number left for this county and birth date")


def phone(rng: np.random.Generator) -> str:
    return _pick(rng, PHONE_PREFIXES) + f"{int(rng.integers(0, 10**8)):08d}"


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def bank_card(rng: np.random.Generator) -> str:
    """A debit card number of a Chinese bank, 16 or 19 digits, with a valid Luhn digit."""
    bin_, length = _pick(rng, CARD_BINS)
    body_length = length - len(bin_) - 1
    body = bin_ + "".join(str(int(d)) for d in rng.integers(0, 10, size=body_length))
    return body + luhn_check_digit(body)


def place(rng: np.random.Generator, region: str) -> tuple[str, str, str, str]:
    """(province, city, district, county code) somewhere in a region."""
    province, places = REGIONS[region]
    city, district, code = _pick(rng, places)
    return province, city, district, code


def address(rng: np.random.Generator, region: str) -> str:
    province, city, district, _ = place(rng, region)
    street = f"{_pick(rng, ROADS)}{int(rng.integers(1, 400))}号"
    if rng.random() < 0.6:
        street += f"{int(rng.integers(1, 30))}幢{int(rng.integers(1, 25))}{int(rng.integers(1, 9)):02d}室"
    return f"{province}{city}{district}{street}"


def shop_name(rng: np.random.Generator, category: str, owner_name: str, is_b2b: bool, region: str) -> str:
    if is_b2b:
        _, city, district, _ = place(rng, region)
        town = (city or district).removesuffix("市").removesuffix("区")
        brand = _pick(rng, BRAND_CHARS) + _pick(rng, BRAND_CHARS)
        return f"{town}{brand}{FIRM_WORDS[category]}{_pick(rng, FIRM_SUFFIXES)}"
    style = int(rng.integers(3))
    word = _pick(rng, SHOP_WORDS[category])
    if style == 0:
        return f"{owner_name[0]}记{word}{_pick(rng, SHOP_SUFFIXES)}"
    if style == 1:
        return f"{owner_name[-1]}{owner_name[-1]}的{word}{_pick(rng, SHOP_SUFFIXES)}"
    return f"{_pick(rng, BRAND_CHARS)}{_pick(rng, BRAND_CHARS)}{word}{_pick(rng, SHOP_SUFFIXES)}"
