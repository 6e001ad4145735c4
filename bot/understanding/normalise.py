"""Text normalisation and tokenisation shared by the matcher and the entity extractor.

Customers type full-width digits, traditional characters, emoji and many words for the same
thing ("邮费"/"运费"/"快递费"). Everything here maps those surface differences onto one form,
so that a handful of examples per intent covers phrasings nobody wrote down.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import jieba
import zhconv

DOMAIN_WORDS = Path(__file__).resolve().parents[2] / "intents" / "domain_words.txt"
# jieba's dictionary holds 349k words, 200k of them seen only two or three times in its corpus
# (rare names and idioms). Dropping them saves ~35 MB per process; the eval set scores the same
# or better (bench/README.md), since such words are rare in what customers type.
MIN_WORD_COUNT = 4

_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
# A-not-A questions ask whether A: "包不包邮" = 包邮吗, "能不能" = 能吗, "有没有" = 有吗,
# "可不可以" = 可以吗, "方不方便" = 方便吗. Keeping only A lets one example cover both forms.
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没]\1")
# "X死了" after a feeling or a judgement is an intensifier ("急死了" = very anxious, "慢死了" =
# very slow), not something dead or rotten (死了 → 变质: "螃蟹死了"): only the X is kept.
_INTENSIFIER = re.compile(
    r"(?<=[急烦气累慢热冷困饿笑吓愁闷贵丑坑忙晕疼痛痒难懒])死(?:我|人)?了?")
# Instalments with their count: "分12期" / "分三期" asks about 分期 like "能分期吗".
_INSTALMENTS = re.compile(r"分(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})期")
# A spend-and-save offer with its amounts: "满200减30" is a 满减 (coupon) like "满减怎么用".
_SPEND_SAVE = re.compile(r"满[0-9]{1,5}(?:元|块)?减[0-9]{1,4}(?:元|块)?")

# Function words that carry no intent. Kept short on purpose: "在" (在吗) or "好" (好的) do
# carry meaning in short chat messages, and IDF already discounts what is merely frequent.
STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 呀 哦 噢 嘛 么 哈 啦 喔 哟 呐 嗯 着 过 得 地 之 "
    "我 你 您 他 她 它 我们 你们 他们 咱 咱们 亲 请 请问 麻烦 一下 下 个 这 这个 那 那个 "
    "就 也 又 和 跟 与 及 把 给 让 帮 一个 这边 那边 哈哈 哎 唉 诶 "
    "i me my mine you your yours we our us is am are was were be been the a an to of for "
    "do does did it its this that these those please pls plz and or with at by from "
    "can could would should will shall just so yet still already now also too very really "
    "much any some there here have has had get got good s t d m ll re ve".split()
)

# surface form -> canonical form. Both queries and intent examples go through this, so the
# table only has to be consistent, not linguistically perfect. Groups are general e-commerce
# vocabulary (what any shop's customers say), not phrases of any particular query set: a test
# checks that no whole evaluation query is an entry. Product groups list whole categories so
# that a fruit, an appliance or a piece of furniture nobody wrote an example for still counts.
# The merchant's own product words come in through intents' `terms`. A canonical form is any
# label (it need not be a variant); "a b" stands for two words.
_SYNONYM_GROUPS: dict[str, str] = {
    # logistics
    "快递": "快递 物流 包裹 快件 邮包 parcel package packages delivery shipment logistics "
            "顺丰 中通 圆通 韵达 申通 京东快递 京东物流 极兔 邮政 ems 德邦 百世 天天快递 宅急送 "
            "sf yto zto sto shunfeng yuantong zhongtong yunda shentong jitu deppon "
            "顺丰快递 中通快递 圆通快递 韵达快递 申通快递 极兔快递 邮政快递",
    "快递员": "快递员 配送员 派送员 送货员 送件员 快递小哥 小哥 骑手 司机 courier driver",
    "运单号": "运单号 运单 快递单号 物流单号 快递单 物流单 快递号 tracking trackingnumber",
    "订单号": "订单号 订单编号 订单号码",
    "派送": "派送 配送 送货 派件 投递 派送中 配送中 送达 送货上门",
    "签收": "签收 已签收 代签 代收",
    "哪里": "哪里 哪儿 哪 哪了 where",
    "到货": "到货",
    "收到 商品": "收到货",
    "更新": "更新 变化 动静",
    # orders
    "订单": "订单 单子 单 order 定单",
    "状态": "状态 进度 情况 status happen happened happening",
    "查询": "查询 查 查下 查一下 查查 查看 看看 看一下 瞧瞧 check track",
    "商品": "商品 东西 货 宝贝 产品 货品 item items product products goods",
    "下单": "下单 拍 拍下 购买 purchase buy bought",
    "发货": "发货 发 发出 发走 寄出 寄 出库 发件 ship shipped dispatch dispatched sent send",
    "发货 运费": "shipping postage",
    "取消": "取消 撤销 撤回 撤掉 作废 cancel cancelled canceled",
    "取消 订单": "撤单 取消订单",
    "付款": "付款 支付 付钱 付费 给钱 结账 买单 付 交钱 交款 缴费 交 现金 pay paid payment "
            "cash",
    "待付款": "待付款 待支付 未付款 未支付",
    # after-sales
    "退货": "退货 退 退掉 退回 退回去 退了 return returns returned",
    "退款": "退款 退钱 返款 钱退 refund refunds refunded",
    # An exchange is one kind of change: "换" alone (换地址, 换个人, 换手机号) is any change.
    "换货 换": "换货 调换 exchange swap 换大 换小 换码 换尺码 换号 换大号 换小号",
    "换": "换 更换 换成 换掉 调 调成",
    "不对": "不对 不一样 不符 不符合 对不上 wrong",
    "发票": "发票 专票 普票 增值税发票 电子发票 纸质发票 专用发票 增值税专用发票 普通发票 "
            "报销 invoice invoices receipt",
    "抬头": "抬头 发票抬头 公司抬头 单位抬头 个人抬头 单位名称 公司名称 单位名 公司名",
    "税号": "税号 纳税人识别号 识别号 信用代码 taxnumber",
    "重新": "重新 重开 再开 重新开",
    "开发票": "开发票 开个发票 开具发票",
    "修改": "修改 更改 改 改一下 改成 更正 change modify",
    "地址": "地址 收货地址 收件地址 收货信息 收件信息 address 地止 地趾",
    "收货人": "收货人 收件人 联系人",
    "收到": "收到 到手 拿到",
    "会员": "会员 vip 会员等级 等级 金卡 银卡 黑卡 钻石会员 member membership",
    "运费": "运费 邮费 快递费 运输费 配送费 快递钱 邮资 运费钱 邮寄费",
    # Places most shops charge extra shipping to (or do not ship free to).
    "偏远": "偏远 偏远地区 偏远山区 新疆 西藏 青海 内蒙古 内蒙 宁夏 甘肃 海南 乌鲁木齐 拉萨",
    "包邮": "包邮 免运费 免邮 包运费 freeshipping",
    "优惠券": "优惠券 券 优惠卷 优惠码 折扣码 满减券 代金券 红包 优惠 优惠活动 折扣 "
              "满减 红包券 新人券 新人红包 店铺券 平台券 "
              "coupon coupons voucher vouchers discount",
    "积分": "积分 会员积分 积分值 points",
    "抵扣": "抵扣 抵现 抵用 抵",
    "尺码": "尺码 码 码数 码子 尺寸 号码 大小 多大 大一码 小一码 大一号 小一号 号数 "
            "size sizes xs l xl xxl xxxl",
    # What a product comes in besides its size: colour, model, style, version.
    "规格": "规格 型号 款式 版本 配置 颜色 色 白色 黑色 红色 蓝色 绿色 黄色 灰色 粉色 紫色 "
            "棕色 米色 卡其色 咖啡色 银色 金色 黑 白 红 蓝 绿 灰 color colour model version",
    "衣服": "衣服 服装 裤子 裙子 外套 上衣 衬衫 衬衣 t恤 卫衣 毛衣 针织衫 羽绒服 大衣 风衣 夹克 "
            "西装 连衣裙 半身裙 牛仔裤 短裤 打底裤 背心 内衣 文胸 睡衣 袜子 帽子 围巾 手套 童装 "
            "鞋 鞋子 运动鞋 跑鞋 球鞋 板鞋 帆布鞋 皮鞋 高跟鞋 凉鞋 拖鞋 靴子 clothes shoes "
            "shirt tshirt dress pants jeans jacket coat sweater hoodie",
    "保修": "保修 质保 维修 修 修理 保固 报修 送修 warranty repair",
    "坏了": "坏了 坏 故障 损坏 不工作 开不了机 不能用 用不了 broken",
    "电器": "电器 家电 小家电 数码 电子产品 电脑 笔记本 平板 显示器 键盘 鼠标 耳机 音箱 音响 "
            "充电宝 充电器 数据线 手表 手环 智能手表 相机 投影仪 路由器 游戏机 "
            "吹风机 电吹风 卷发棒 直发器 剃须刀 电动牙刷 冲牙器 美容仪 按摩仪 "
            "电饭煲 电压力锅 微波炉 烤箱 空气炸锅 豆浆机 破壁机 榨汁机 咖啡机 电水壶 养生壶 "
            "电磁炉 吸尘器 扫地机 扫地机器人 加湿器 净化器 空气净化器 风扇 电风扇 取暖器 "
            "电暖器 台灯 电热毯 挂烫机 熨斗",
    "大件": "大件 大家电 家具 空调 洗衣机 烘干机 冰箱 冰柜 电视 电视机 热水器 油烟机 燃气灶 "
            "洗碗机 消毒柜 净水器 沙发 床 床垫 衣柜 书柜 书架 书桌 餐桌 茶几 电视柜 鞋柜 "
            "椅子 办公椅 跑步机 健身器材 马桶 浴室柜 钢琴",
    "安装": "安装 装 组装 上门安装 install installation assemble",
    "生鲜": "生鲜 水果 海鲜 肉 肉类 蔬菜 菜 冻品 "
            "樱桃 车厘子 苹果 香蕉 芒果 榴莲 草莓 蓝莓 橙子 橘子 柑橘 沃柑 葡萄 提子 西瓜 "
            "哈密瓜 荔枝 龙眼 桂圆 猕猴桃 奇异果 桃子 水蜜桃 梨 柚子 菠萝 凤梨 山竹 火龙果 "
            "杨梅 枇杷 李子 石榴 椰子 牛油果 "
            "螃蟹 大闸蟹 梭子蟹 帝王蟹 蟹 虾 对虾 基围虾 龙虾 小龙虾 鱼 三文鱼 鳕鱼 带鱼 "
            "黄鱼 生蚝 牡蛎 扇贝 鲍鱼 海参 蛤蜊 花甲 贝 鱿鱼 海胆 "
            "牛肉 猪肉 羊肉 鸡肉 鸭肉 牛排 排骨 鸡翅 鸡腿 鸡蛋 鸭蛋 牛奶 酸奶 "
            "青菜 土豆 番茄 西红柿 黄瓜 "
            "fruit fruits seafood meat vegetables strawberry cherry cherries mango banana apple "
            "grapes crab shrimp fish steak",
    "变质": "变质 烂 烂了 腐烂 臭 臭了 发臭 有异味 死 死了 化冻 解冻 化了 融化 不新鲜 "
            "发霉 长毛 馊 蔫 发黑 变色 异味 有味 味儿 有味儿 rotten spoiled spoilt moldy mouldy",
    "正品": "正品 真货 正版 行货 真品 genuine authentic original",
    "假货": "假货 假的 仿品 高仿 山寨 盗版 a货 水货 假冒 冒牌 仿冒 fake",
    "鉴定": "鉴定 验真 鉴别 防伪 防伪码 证书 质检报告 检测报告",
    "定制": "定制 订制 定做 私人订制 刻字 刻 雕刻 刻名字 印字 印名字 印 印上 印照片 印图案 印logo "
            "制作 custom customised "
            "customized personalised personalized engraved engrave engraving",
    "降价": "降价 便宜了 变便宜 降了 打折了 价格变了 活动价 促销价",
    "价保": "价保 保价 价格保护 priceprotection pricematch 差价 退差价 补差价 买贵 买贵了",
    "定金": "定金 订金 deposit",
    "发错": "发错 寄错 送错 错发 寄成 发成 送成 发串 寄串 装错 wrongitem",
    "少发": "少发 漏发 少 少了 缺 缺了",
    "无理由": "无理由 七天无理由 7天无理由",
    "补货": "补货 到货通知 进货 上新 再上 返场 再进货 restock",
    "缺货": "缺货 没货 卖完 卖完了 售罄 断货 断码 无货 卖光 有货 现货 库存 有库存 没库存 "
            "stock outofstock instock soldout",
    "海外": "海外 国外 国际 境外 外国 港澳台 香港 澳门 台湾 美国 日本 英国 加拿大 澳大利亚 "
            "新加坡 马来西亚 韩国 德国 法国 澳洲 欧美 日韩 北美 泰国 越南 新西兰 意大利 西班牙 "
            "俄罗斯 欧洲 东南亚 "
            "overseas abroad international singapore malaysia japan korea usa america uk "
            "britain england canada australia germany france europe taiwan hongkong hk macau "
            "thailand vietnam",
    "赠品": "赠品 赠送 满赠 送的 小礼品 小样 试用装 freebie",
    "贺卡": "贺卡 卡片 小卡片 祝福卡 留言卡",
    "价格单": "价格单 价签 吊牌 价格标签 小票 发货单",
    "礼品": "礼品 礼物 礼盒 gift",
    "包装": "包装 包一下 打包 包好 包好看 包漂亮 包起来 wrap wrapping",
    "礼品 包装": "giftwrap giftwrapping",
    "账号": "账号 帐号 账户 帐户 会员号 account",
    "登录": "登录 登陆 登入 登不上 登不进去 验证码 密码 login password",
    "绑定": "绑定 绑 改绑 换绑 解绑 bind",
    "手机号": "手机号 手机号码 电话号码 新号 新号码 老号 老号码 旧号 旧号码 停机 手机卡 phone",
    "客服": "客服 客服人员 售后客服 service",
    "上班": "上班 下班 营业 营业时间 工作时间 在线 值班 businesshours openinghours workinghours",
    "周末": "周末 周六 周日 星期六 星期天 星期日 礼拜六 礼拜天 礼拜日 节假日 假期 weekend "
            "weekends saturday sunday",
    "自提": "自提 自取 到店取 到店自提 门店自提 自提点 提货点 取货点 提货 取货 pickup",
    "门店": "门店 线下店 实体店 店里 店 线下门店",
    "货到付款": "货到付款 到付 货到付 当面付 当面付款 送货付款 cod cashondelivery "
              "payondelivery paymentondelivery",
    # conversation
    "人工": "人工 真人 活人 人工服务 human agent person staff someone somebody "
            "representative operator",
    "说话": "说话 聊天 对话 speak talk chat",
    "到": "到 arrive arrived arrives arriving arrival reach",
    "投诉": "投诉 举报 complain complaint",
    "机器人": "机器人 机器 robot bot",
    "通知": "通知 推送 提醒 消息推送 消息提醒 notification notifications notify push",
    "关闭": "关闭 关掉 关了 停止 屏蔽 关 stop off disable",
    "开启": "开启 打开 开通 恢复 enable",
    "订阅 取消": "取消订阅 unsubscribe",
    # Greetings: the words customers type most ("你好", "谢谢") need no entry, the built-in
    # examples have them; these are the other ways of saying them.
    "您好": "您好 hi hey 哈喽 哈啰 嗨 hallo 早 早安 早上好 上午好 中午好 下午好 晚上好 "
            "在么 在不 在嘛 morning afternoon evening",
    "感谢": "多谢 感谢 谢啦 谢了 thanks thank thx",
    "再见": "再见 拜拜 bye goodbye 回头见 晚安 cya",
    # function-ish words worth merging so their variants share one IDF
    "怎么": "怎么 怎样 如何 咋 怎么办 怎么弄 怎么搞 how",
    "可以": "可以 能 能否 可否 行吗 行不 could",
    "什么时候": "什么时候 啥时候 何时 几时 几点 哪天 哪一天 什么时间 啥时 when",
    "多久": "多久 多长时间 多长 多少天 几天 要多久 long",
    # dates and durations rarely decide an intent but are everywhere in orders
    "某天": "今天 明天 昨天 前天 后天 大前天 上周 这周 下周 本周 刚才 刚刚 最近 早上 晚上 "
            "上午 下午 中午 半夜 深夜 凌晨 夜里 昨晚 今晚 明晚 今早 昨日 今日 明日 "
            "一天 两天 三天 四天 五天 六天 好几天 一整天 整天 一周 两周 半个月 一个月",
    "身材": "身材 身高 体重 斤 公斤 kg cm 厘米 胖 瘦 腰围 胸围 肩宽 脚长",
    "支付宝 付款": "支付宝 alipay",
    "微信 付款": "微信支付 微信钱包 零钱 wechatpay",
    "花呗 付款": "花呗",
    "信用卡 付款": "信用卡 visa mastercard credit",
    "银行卡 付款": "银行卡 储蓄卡 借记卡 刷卡 网银",
    "没有": "没有 没 木有 还没 还没有",
    "需要": "需要 想要 要 想 want need",
    "什么": "什么 啥 干嘛 干啥 what",
    "没有 收到": "没收到 没收 收不到",
    "没有 到": "不到 没到",
    "填错": "填错 写错 弄错 搞错 打错",
}

SYNONYMS: dict[str, str] = {
    variant: canonical
    for canonical, variants in _SYNONYM_GROUPS.items()
    for variant in variants.split()
}

_weights: dict[str, float] = {}
_gram_weights: dict[str, float] = {}
_original_counts: dict[str, int | None] = {}
_domain_words: set[str] = set()

_dictionary_lock = threading.Lock()
_added_words: set[str] = set()
_merchant_words: set[str] = set()   # added by use_merchant_words, removable
_dictionary_ready = False
# Bumped whenever jieba's dictionary changes after loading (a merchant word added or removed):
# whatever was cached from how text was cut before is stale from then on.
_dictionary_version = 0


# Invisible format characters (Unicode category Cf: zero-width space and joiners, BOM, soft
# hyphen, direction marks) arrive in pasted text and would cut "2026112\u200b40001" in two.
# Listed (Unicode 15's Cf) rather than computed: scanning every code point costs 0.1 s per start;
# tests/understanding/test_hostile_text.py checks the list against unicodedata.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)


def normalise(text: str) -> str:
    """Full/half width, traditional→simplified, lowercase, no punctuation or emoji, one space;
    invisible format characters are dropped, so they join what they stood between."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = zhconv.convert(_INVISIBLE.sub("", text), "zh-cn")
    text = _NON_WORD.sub(" ", text.lower())
    return _SPACES.sub(" ", text).strip()


# Words that together say a third thing: changing (换) a size or a colour is an exchange
# ("能换大一码吗", "换个尺码" ask for 换货 as much as "可以换货吗"). Read in `matcher.analyse`
# for intents' texts and messages alike.
COMBINED_READINGS: dict[tuple[str, str], str] = {
    ("换", "尺码"): "换货",
    ("换", "规格"): "换货",
}
# "换个大的" / "换成小一点的" change to a size: read as 换大 / 换小 (→ 换货 换).
_CHANGE_SIZE = re.compile(r"换(?:个|一个|成|个更|成更)(?=[大小](?:[的点号码些]|一[点号码]))")

# English phrases that mean one shop word as a whole and something else word by word ("cash on
# delivery" is not about cash or a delivery): written joined in the synonym table, they are
# joined before the text is cut into words (`join_phrases`).
ENGLISH_PHRASES = (
    "cash on delivery", "pay on delivery", "payment on delivery", "out of stock", "in stock",
    "sold out", "free shipping", "wrong item", "wrong items", "gift wrap", "gift wrapping",
    "price protection", "price match",
    "tracking number", "tax number", "business hours", "opening hours", "working hours",
)
_PHRASE = re.compile(r"\b(" + "|".join(sorted(ENGLISH_PHRASES, key=len, reverse=True)) + r")\b")


def join_phrases(text: str) -> str:
    """Normalised text with the shop's English phrases written as one word each."""
    if " " not in text:
        return text
    return _PHRASE.sub(lambda m: m.group(1).replace(" ", ""), text)


def ensure_domain_dictionary() -> None:
    """Load jieba once, quietly, with the domain words and every synonym variant (idempotent)."""
    global _dictionary_ready
    if _dictionary_ready:
        return
    with _dictionary_lock:
        if _dictionary_ready:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.set_dictionary(str(_trimmed_dictionary(MIN_WORD_COUNT)))
        jieba.initialize()
        if DOMAIN_WORDS.exists():
            for line in DOMAIN_WORDS.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if not parts:
                    continue
                freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                tag = parts[2] if len(parts) > 2 else None
                _domain_words.add(parts[0].lower())
                _add_word(parts[0].lower(), freq, tag)
        for variant in (*SYNONYMS, *SYNONYMS.values()):
            if len(variant) > 1 and not variant.isascii() and " " not in variant:
                _add_word(variant)
        _dictionary_ready = True


def warm_up() -> None:
    """Load what the first match would otherwise load: jieba's dictionary and zhconv's tables
    (most of a second). Callers timing an index build call this first, so they time the build
    and not the one-off loading."""
    ensure_domain_dictionary()
    normalise("訂單")


def _trimmed_dictionary(min_count: int) -> Path:
    """jieba's dictionary without words seen fewer than `min_count` times, written once per
    machine (atomically: several workers may start together)."""
    source = Path(jieba.__file__).resolve().parent / "dict.txt"
    stat = source.stat()
    target = Path(tempfile.gettempdir()) / (
        f"bot-jieba-{min_count}-{stat.st_size}-{int(stat.st_mtime)}.txt")
    if not target.exists():
        kept = [line for line in source.read_text(encoding="utf-8").splitlines()
                if int(line.split(" ", 2)[1]) >= min_count]
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text("\n".join(kept) + "\n", encoding="utf-8")
        partial.replace(target)
    return target


def use_merchant_words(words: Iterable[str]) -> None:
    """Make the merchant's own terms (product names, brands) exactly `words`: new ones are cut
    whole from now on, ones no longer in use go back to how jieba cut them before."""
    ensure_domain_dictionary()
    global _merchant_words, _dictionary_version
    wanted = {w for w in (normalise(word).replace(" ", "") for word in words) if len(w) > 1}
    with _dictionary_lock:
        for word in sorted(wanted - _merchant_words):
            if word in _added_words:
                continue  # already a domain word or synonym: nothing to add, nothing to undo
            _add_word(word)
            _domain_words.add(word)
            _merchant_words.add(word)
            _forget_weights(word)
            _dictionary_version += 1
        for word in sorted(_merchant_words - wanted):
            original = _original_counts.pop(word, None)
            if original:
                jieba.add_word(word, original)   # a word jieba knew: its own count again
            else:
                jieba.del_word(word)
            _added_words.discard(word)
            _domain_words.discard(word)
            _merchant_words.discard(word)
            _forget_weights(word)
            _dictionary_version += 1


def dictionary_version() -> int:
    """Changes whenever the words jieba cuts whole change (see `use_merchant_words`)."""
    return _dictionary_version


def merchant_words() -> frozenset[str]:
    """The merchant's terms jieba currently cuts whole (normalised)."""
    return frozenset(_merchant_words)


def _forget_weights(word: str) -> None:
    # A word added or removed changes how it and the bigrams inside it are weighed.
    _weights.pop(word, None)
    for i in range(len(word) - 1):
        _gram_weights.pop(word[i:i + 2], None)


def _add_word(word: str, freq: int | None = None, tag: str | None = None) -> None:
    if word in _added_words:
        return
    _added_words.add(word)
    _original_counts[word] = jieba.dt.FREQ.get(word)
    # Without a frequency jieba picks one just high enough for the word to be cut out whole.
    jieba.add_word(word, freq, tag)


def tokenise(text: str) -> list[str]:
    """Cut normalised text into words (no HMM: unknown words fall apart into characters, which
    keeps segmentation of queries and examples consistent). A-not-A questions are read as
    their A ("包不包邮" → 包邮)."""
    ensure_domain_dictionary()
    text = _A_NOT_A.sub(r"\1", text)
    text = _INTENSIFIER.sub("", text)
    text = _INSTALMENTS.sub("分期", text)
    if "减" in text:
        text = _SPEND_SAVE.sub("满减", text)
    text = _CHANGE_SIZE.sub("换", text)
    return [t for t in _cut(text) if not t.isspace()]


# jieba's own block split: runs of Chinese, ASCII letters, digits and a few signs are cut with
# the dictionary; anything else is split on spaces into single characters.
_HAN_BLOCK = jieba.re_han_default
_SKIP = jieba.re_skip_default
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _cut(text: str) -> list[str]:
    """`jieba.lcut(text, HMM=False)`, word for word, in about half the time: jieba's own
    dictionary, DAG and maximum-probability route, with the DAG and the route computed in one
    pass instead of a dict of lists and a generator of tuples per character (a third of a
    match went to jieba's cut). tests/test_matcher.py checks it against jieba."""
    tokenizer = jieba.dt
    tokenizer.check_initialized()
    freq_get = tokenizer.FREQ.get
    logtotal = math.log(tokenizer.total)
    words: list[str] = []
    for block in _HAN_BLOCK.split(text):
        if not block:
            continue
        if _HAN_BLOCK.match(block):
            _cut_block(block, freq_get, logtotal, words)
        else:
            for piece in _SKIP.split(block):
                if _SKIP.match(piece):
                    words.append(piece)
                else:
                    words.extend(piece)
    return words


def _cut_block(block: str, freq_get, logtotal: float, words: list[str]) -> None:
    # jieba's calc: route[k] = max((log(freq(block[k:x+1]) or 1) - logtotal + route[x+1], x))
    # over the dictionary words starting at k (k alone if none); the same sums in the same
    # order, ties to the longer word as jieba's max over tuples.
    log = math.log
    n = len(block)
    score = [0.0] * (n + 1)
    end = list(range(n))
    for k in range(n - 1, -1, -1):
        best = None
        at = k
        count = freq_get(block[k])
        while count is not None:
            if count:
                candidate = log(count) - logtotal + score[at + 1]
                if best is None or candidate >= best:
                    best = candidate
                    end[k] = at
            at += 1
            if at == n:
                break
            count = freq_get(block[k:at + 1])
        score[k] = 0.0 - logtotal + score[k + 1] if best is None else best
    # jieba's __cut_DAG_NO_HMM: single ASCII letters or digits in a row are one word.
    buffered = ""
    k = 0
    while k < n:
        stop = end[k] + 1
        word = block[k:stop]
        if stop - k == 1 and word in _ASCII_ALNUM:
            buffered += word
        else:
            if buffered:
                words.append(buffered)
                buffered = ""
            words.append(word)
        k = stop
    if buffered:
        words.append(buffered)


def subwords(token: str) -> list[str]:
    """The dictionary words inside a long token ("礼品包装" → 礼品, 包装), as jieba's search
    mode finds them, so a compound in one text still meets its parts in another. A merchant's
    term is a name, not a compound: "人工泪液" says nothing about "人工" (a human agent)."""
    if len(token) < 3 or token in SYNONYMS or token in _merchant_words:
        return []
    freq = jieba.dt.FREQ
    found = [token[i:i + 2] for i in range(len(token) - 1) if freq.get(token[i:i + 2])]
    if len(token) > 3:
        found += [token[i:i + 3] for i in range(len(token) - 2) if freq.get(token[i:i + 3])]
    return found


def canonical(token: str) -> tuple[str, ...]:
    """The form(s) all variants of a word share; English plurals lose their 's'; a short
    number is any number (a height, a count), long ones are entities and never get here."""
    if token.isdigit() and len(token) < 6:
        return ("数字",)
    found = SYNONYMS.get(token)
    if found is None and token.isascii() and len(token) > 3 and token.endswith("s") \
            and not token.endswith("ss"):
        token = token[:-3] + "y" if token.endswith("ies") else token[:-1]
        found = SYNONYMS.get(token)
    return tuple(found.split()) if found is not None else (token,)


# How common a word is in general Chinese (jieba's dictionary counts), mapped to a weight:
# "是"/"有"/"现在" say little about what a customer wants even when few intents use them, while
# "退货"/"运单号" say a lot. Bounds are log(total / count) for the commonest and rarest words.
_COMMON_LOG, _RARE_LOG, _MIN_WEIGHT = 5.0, 13.0, 0.15
_NUMBER_WEIGHT = 0.3
# jieba has no counts for English: without these, every English word would weigh like the
# rarest Chinese one, and "does it come with", "how long does it take" would read as topics.
# The commonest English verbs, adverbs and contractions (general English, no shop words).
ENGLISH_COMMON = frozenset(
    "come comes came take takes took taken make makes made go goes going went gone know knew "
    "think see look looking give gave tell told ask asked use used find found put keep kept "
    "let seem feel try tried leave left call called work works working say said mean means "
    "different possible new old big small same other another many more most less last "
    "next first time times day days way thing things lot lots bit one two "
    "not no yes ok okay sure maybe well back again ever never always "
    "hasnt havent hadnt dont doesnt didnt cant cannot couldnt wont wouldnt shouldnt isnt "
    "arent wasnt werent im ive id youre theyre thats whats hows wheres theres lets "
    "need needs want wants like would might may must shall".split()
)
_ENGLISH_COMMON_WEIGHT = 0.3


def word_weight(word: str) -> float:
    """0.15-1.0: how much a word can say about intent, from its general-language frequency."""
    cached = _weights.get(word)
    if cached is not None:
        return cached
    ensure_domain_dictionary()
    count = _general_count(word)
    if not count:
        if word.isdigit():
            weight = _NUMBER_WEIGHT
        elif word in ENGLISH_COMMON:
            weight = _ENGLISH_COMMON_WEIGHT
        elif word in _domain_words or word.isascii() or len(word) == 1:
            weight = 1.0
        else:
            # A colloquial compound jieba does not know ("查一下", "干嘛"): as telling as its
            # characters on average.
            weight = sum(word_weight(c) for c in word) / len(word)
    else:
        rarity = math.log(jieba.dt.total / count)
        weight = (rarity - _COMMON_LOG) / (_RARE_LOG - _COMMON_LOG)
        weight = min(1.0, max(_MIN_WEIGHT, weight))
    if len(_weights) < 100_000:
        _weights[word] = weight
    return weight


def gram_weight(gram: str) -> float:
    """Weight of a character bigram: a word's own, else the mean of its two characters' (a
    bigram across a word boundary is weaker evidence than a word)."""
    cached = _gram_weights.get(gram)
    if cached is not None:
        return cached
    if _general_count(gram) or gram in _added_words:
        weight = word_weight(gram)
    else:
        weight = sum(word_weight(c) for c in gram) / len(gram)
    if len(_gram_weights) < 200_000:
        _gram_weights[gram] = weight
    return weight


def _general_count(word: str) -> int:
    # Words we added carry segmentation frequencies, not counts: use jieba's own, if any.
    if word in _original_counts:
        return _original_counts[word] or 0
    return jieba.dt.FREQ.get(word) or 0


# Canonical words that ask rather than say what about: a query sharing only these with an
# intent has not matched its topic.
LIGHT_WORDS = frozenset(
    "什么 怎么 可以 没有 需要 某天 数字 多少 在 有 是 还 为什么 怎么样 一直 现在 已经 一样 "
    "这样 那样 好 很 太 都 再 又 会 用 做 弄 搞 说 问 看 下 上 来 去 呢".split()
)


def is_domain_word(word: str) -> bool:
    """A word of the shop's own vocabulary: a synonym variant or class, a domain dictionary
    word or a merchant's term, whether or not an intent uses it. A number with its measure
    word ("一张", "三瓶", "第三天", "几号") says how many, which any question can: it counts too."""
    return (word in SYNONYMS or word in _SYNONYM_WORDS or word in _domain_words
            or word in SHOPPING_WORDS or _QUANTITY.fullmatch(word) is not None)


# Everyday words of a shopping conversation that no FAQ needs to name: where in the shop
# (首页, 结算), who a present is for and the occasion (女朋友, 生日), how it should look
# (好看), hedges (大概). They say nothing of the topic, but neither do they mean the message is
# about something the shop knows nothing of (they are shop vocabulary for `is_domain_word`,
# not synonyms: they stay out of jieba's dictionary and weigh as before).
SHOPPING_WORDS = frozenset(
    "结算 结算页 确认 显示 页面 首页 店铺 商城 网店 小程序 链接 详情页 购物 买来 "
    "名字 图案 照片 图片 logo "
    "生日 节日 情人节 七夕 圣诞 圣诞节 春节 母亲节 父亲节 纪念日 结婚 婚礼 "
    "女朋友 男朋友 老婆 老公 妈妈 爸爸 父母 孩子 宝宝 朋友 同事 长辈 闺蜜 送人 "
    "好看 漂亮 精致 大概 大约 差不多 附近 攒 攒了 "
    "你家 你们家 贵店 店家 商家 卖家 新人 新用户 新客 老客户 回事 怎么回事".split()
)


_QUANTITY = re.compile(r"[一二两三四五六七八九十百千几第半每整][\u4e00-\u9fff]{1,2}")


# Words of the topics customers of a shop also ask a chat window about and no shop answers:
# jobs and pay, banking and tax, medicine, what a word means or how it is read. Such a word
# in a message adds OFF_TOPIC_WEIGHT times its weight (at least UNEXPLAINED_MIN_WEIGHT) to the
# content the shop knows nothing of (`matcher._unexplained`), on top of counting there once if
# no intent has it: "快递员工资高吗" is about a courier's pay, not a delivery. Words that can be a
# shop question ("过敏" after a cream, "意思" of an order status) are not listed.
OFF_TOPIC_WORDS = frozenset(
    "工资 薪水 月薪 年薪 薪资 收入 挣 赚 挣钱 赚钱 招聘 应聘 面试 兼职 求职 上岗 "
    "转账 汇款 贷款 借款 个税 退税 报税 股票 基金 理财 利息 存款 取款 "
    "药 吃药 医院 看病 医生 感冒 发烧 "
    "单词 翻译 读音 发音 作者 含义".split()
)
OFF_TOPIC_WEIGHT = 2.0

_SYNONYM_WORDS = frozenset(w for c in SYNONYMS.values() for w in c.split())


def is_light(word: str) -> bool:
    """A canonical word that asks (什么, 怎么) rather than names a topic."""
    return word in LIGHT_WORDS


def is_stopword(token: str) -> bool:
    """A function word: it shapes character bigrams but is not a feature itself."""
    return token in STOPWORDS


def is_cjk(token: str) -> bool:
    """Not an ASCII word or number (Chinese words take part in character bigrams)."""
    return not _ASCII_WORD.fullmatch(token)
