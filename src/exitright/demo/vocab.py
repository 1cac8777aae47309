"""Words the generator combines: names with pinyin, shops, dishes and goods, text templates.

Kept apart from the generation logic so that the logic stays readable. Surnames are the most
common ones in roughly their order of frequency; given-name characters come with pinyin so that
e-mail handles look like the ones people choose (``zhangwei88@163.com``).
"""

from __future__ import annotations

from typing import Final

# (surname, pinyin), most common first; the generator draws earlier entries more often.
SURNAMES: Final = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("欧阳", "ouyang"), ("司马", "sima"),
)  # fmt: skip

GIVEN_MALE: Final = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"), ("平", "ping"),
    ("辉", "hui"), ("鹏", "peng"), ("华", "hua"), ("飞", "fei"), ("鑫", "xin"), ("波", "bo"),
    ("斌", "bin"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"), ("健", "jian"), ("俊", "jun"),
    ("帆", "fan"), ("博", "bo"), ("子轩", "zixuan"), ("浩然", "haoran"), ("建国", "jianguo"),
    ("志强", "zhiqiang"), ("文博", "wenbo"), ("宇航", "yuhang"), ("晨阳", "chenyang"),
)  # fmt: skip

GIVEN_FEMALE: Final = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("颖", "ying"),
    ("琳", "lin"), ("倩", "qian"), ("晶", "jing"), ("燕", "yan"), ("玲", "ling"), ("欣", "xin"),
    ("佳怡", "jiayi"), ("子涵", "zihan"), ("欣怡", "xinyi"), ("雨桐", "yutong"), ("诗琪", "shiqi"),
    ("梓萱", "zixuan"), ("秀英", "xiuying"), ("桂英", "guiying"), ("晓燕", "xiaoyan"),
)  # fmt: skip

# Nicknames are what people pick on apps: moods, foods, pets, a bit of English.
NICK_PARTS_A: Final = (
    "快乐的", "爱吃", "不吃香菜的", "早起的", "熬夜", "佛系", "奔跑的", "安静的", "会飞的",
    "爱喝奶茶的", "追风的", "温柔的", "打工人", "干饭", "怕冷的",
)  # fmt: skip
NICK_PARTS_B: Final = (
    "小猫", "柠檬", "小熊", "西瓜", "土豆", "星星", "鲸鱼", "橘子", "团子", "小鹿", "兔子",
    "程序员", "咸鱼", "芒果", "阿狸",
)  # fmt: skip
NICK_LATIN: Final = ("Lucky", "Momo", "Kiki", "Leo", "Coco", "Sunny", "Ace", "Mia", "Tony", "Yoyo")

EMAIL_DOMAINS: Final = (
    "qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com", "gmail.com",
    "139.com", "aliyun.com",
)  # fmt: skip

# Shops: (category, name stems, name suffixes, goods of that shop as (title, price in yuan)).
SHOP_KINDS: Final = (
    (
        "餐饮",
        ("老王", "蜀香", "湘味", "粤港", "东北", "兰州", "沙县", "老街", "川渝", "江南"),
        ("家常菜", "麻辣烫", "牛肉面", "小吃", "饺子馆", "烧烤", "砂锅粥", "黄焖鸡米饭", "酸菜鱼"),
        (
            ("宫保鸡丁盖饭", 22), ("鱼香肉丝饭", 20), ("红烧牛肉面", 26), ("酸辣粉", 15),
            ("猪肉白菜水饺(20个)", 24), ("麻辣香锅", 45), ("黄焖鸡米饭", 21), ("小龙虾(1斤)", 88),
            ("烤串套餐", 58), ("皮蛋瘦肉粥", 12), ("回锅肉", 32), ("水煮鱼", 68), ("米饭", 2),
        ),
    ),
    (
        "饮品",
        ("一点", "茶语", "鲜果", "蜜雪", "沪上", "古茗", "柠檬"),
        ("奶茶", "茶饮", "咖啡", "果汁铺"),
        (
            ("珍珠奶茶(大杯)", 16), ("杨枝甘露", 19), ("柠檬茶", 12), ("生椰拿铁", 18),
            ("美式咖啡", 15), ("芋泥波波", 18), ("鲜榨橙汁", 14),
        ),
    ),
    (
        "超市",
        ("家乐", "惠民", "邻里", "便民", "优选", "鲜丰"),
        ("超市", "便利店", "生鲜", "水果店"),
        (
            ("农夫山泉550ml×12", 24), ("金龙鱼食用油5L", 69), ("五常大米5kg", 59),
            ("鲜鸡蛋30枚", 28), ("蒙牛纯牛奶250ml×16", 52), ("维达抽纸3层×6包", 19),
            ("海天酱油1.9L", 23),
            ("红富士苹果5斤", 35), ("香蕉2斤", 12), ("可口可乐330ml×6", 18),
        ),
    ),
    (
        "数码",
        ("极客", "数码", "智联", "星辰", "聚能"),
        ("旗舰店", "专营店", "数码城"),
        (
            ("20W快充充电器", 49), ("蓝牙耳机", 199), ("Type-C数据线1m", 19), ("手机壳", 29),
            ("充电宝10000mAh", 99), ("机械键盘", 259), ("无线鼠标", 79), ("64GB U盘", 45),
        ),
    ),
    (
        "服饰",
        ("衣橱", "简约", "潮流", "森系", "优衣"),
        ("服饰", "旗舰店", "女装", "男装"),
        (
            ("纯棉短袖T恤", 59), ("牛仔裤", 129), ("羽绒服", 499), ("运动鞋", 299),
            ("棉袜5双装", 25), ("连衣裙", 169), ("卫衣", 119),
        ),
    ),
    (
        "母婴",
        ("宝贝", "亲亲", "乐童"),
        ("母婴店", "旗舰店"),
        (("婴儿纸尿裤L码", 129), ("婴儿湿巾80抽×5", 39), ("奶瓶", 89), ("儿童绘本套装", 68)),
    ),
)  # fmt: skip

COUPON_TITLES: Final = (
    "新人专享券", "外卖满减券", "超市满减券", "品类券", "会员红包", "节日红包", "免配送费券",
)  # fmt: skip

CARRIERS: Final = (
    "平台专送",
    "骑手众包",
    "顺丰速运",
    "中通快递",
    "圆通速递",
    "京东物流",
    "韵达快递",
)

DEVICE_MODELS: Final = (
    ("ios", "iPhone 15"), ("ios", "iPhone 14 Pro"), ("ios", "iPhone 13"), ("ios", "iPad Air"),
    ("android", "HUAWEI Mate 60"), ("android", "HUAWEI nova 12"), ("android", "Xiaomi 14"),
    ("android", "Redmi K70"), ("android", "OPPO Reno11"), ("android", "vivo X100"),
    ("android", "HONOR 100"), ("web", "Chrome 120 / Windows 10"), ("web", "Safari / macOS"),
    ("miniprogram", "微信小程序"),
)  # fmt: skip

# Prefixes of public IPv4 blocks announced by Chinese carriers, for login history.
IP_PREFIXES: Final = (
    "112.10",
    "113.87",
    "117.136",
    "120.229",
    "183.14",
    "223.104",
    "36.112",
    "58.246",
)

SEARCH_TERMS: Final = (
    "奶茶", "麻辣烫", "附近美食", "炸鸡", "咖啡", "水果", "充电宝", "羽绒服", "纸尿裤", "牛奶",
    "火锅", "轻食沙拉", "早餐", "生日蛋糕", "药店", "鲜花", "酸菜鱼", "便利店", "蓝牙耳机", "大米",
)  # fmt: skip

REVIEW_LINES: Final = (
    "味道很好，分量足，下次还点。", "送得很快，还是热的。", "包装很用心，好评！",
    "一般般吧，有点咸。", "骑手小哥态度很好。", "质量不错，和描述一致。",
    "物流太慢了，等了好几天。",
    "性价比高，推荐购买。", "做工一般，凑合用。", "第三次回购了，一如既往地好。",
    "汤洒了一点，其他还行。", "尺码偏小，建议拍大一码。",
)  # fmt: skip

# Customer-service chats. {phone}, {address}, {order_no} and {name} are filled in; the user side
# mentions a phone number and an address in the many ways people type them.
CHAT_USER_OPENERS: Final = (
    "你好，我的订单{order_no}一直没送到，麻烦查一下。",
    "客服你好，订单{order_no}少送了一份，怎么处理？",
    "我想修改订单{order_no}的收货地址。",
    "请问订单{order_no}可以退款吗？东西有质量问题。",
    "骑手联系不上我，订单{order_no}。",
)
CHAT_USER_DETAILS: Final = (
    "我电话是{phone}，地址是{address}。",
    "新地址：{address}，收件人{name}，电话{phone}。",
    "你们可以打我手机{phone}，我一直在{address}这边。",
    "麻烦让骑手打{phone}，送到{address}门口就行。",
    "我的联系方式{phone}",
)
CHAT_AGENT_LINES: Final = (
    "您好，这里是平台客服，很高兴为您服务。",
    "已为您联系商家核实，请稍候。",
    "已为您登记，预计30分钟内处理完毕。",
    "抱歉给您带来不便，已为您申请退款，1-3个工作日到账。",
    "收到，已经通知骑手按新地址配送。",
    "请问还有其他可以帮您的吗？",
)
ORDER_REMARKS: Final = (
    "不要香菜", "少辣", "多放醋", "放门口就行，谢谢", "到了打电话{phone}", "请尽快送达",
    "家里有宝宝，请勿敲门", "送到{address}，到了给我打电话", "不要餐具", "",
)  # fmt: skip
MERCHANT_NOTES: Final = (
    "老顾客，每周都点，备注常不要香菜。", "曾经投诉过送餐慢，注意优先出餐。", "喜欢加辣。",
    "上次漏送饮料，已补偿优惠券。", "要求发票抬头写公司名。", "送到{address}，前台代收。",
    "电话{phone}常打不通，请发短信。",
)  # fmt: skip
REFUND_REASONS: Final = ("商品破损", "少送/漏送", "不想要了", "配送超时", "质量问题", "商家缺货")

SMS_TEMPLATES: Final = (
    ("login_code", "【优享生活】您的验证码是{code}，5分钟内有效。如非本人操作请忽略。"),
    ("order_shipped", "【优享生活】您的订单{order_no}已发货，请注意查收。"),
    ("delivery_arriving", "【优享生活】骑手正在为您配送订单{order_no}，请保持电话畅通。"),
    ("marketing", "【优享生活】您有一张满30减10元券即将到期，快去使用吧！回T退订"),
)

COMPANY_WORDS: Final = (
    "云帆",
    "华信",
    "鼎盛",
    "瑞丰",
    "启明",
    "恒达",
    "创联",
    "博远",
    "星海",
    "汇通",
)
COMPANY_TRADES: Final = ("科技", "网络科技", "贸易", "文化传媒", "信息技术", "餐饮管理", "电子商务")
