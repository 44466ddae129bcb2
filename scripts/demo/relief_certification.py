# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_certification: certified suppliers and products.

Everything here is invented: the suppliers, their credit codes, people,
phones and certificate numbers, and the purchase cap per poor person.  The
counties and their GB/T 2260 codes are real (all lifted-poverty counties).

The data is kept in this file (not under data/) so that the demo signature,
which hashes the loaders, changes with it.  Records are created set-based
(a create call per model and batch) and the workflow buttons are clicked on
lists."""
import datetime as dt
import random
from contextlib import contextmanager
from decimal import Decimal

from proteus import Model
from stdnum.cn import uscc

RULE_SOURCE = "陕西省总工会消费帮扶指挥部（演示数据）"
RULE_COMMENT = (
    "演示数据：每名带贫人口每年 5000 元的采购上限是虚构的示例数值，"
    "并非正式文件的规定。")
CAP_PER_PERSON = Decimal(5000)

# GB/T 2260 code: (county, city, postal code, phone area code, number prefix)
COUNTIES = {
    '610124': ("周至县", "西安市", '710400', '029', 'ZZ'),
    '610827': ("米脂县", "榆林市", '718100', '0912', 'MZ'),
    '610921': ("汉阴县", "安康市", '725100', '0915', 'HY'),
    '610981': ("旬阳市", "安康市", '725700', '0915', 'XY'),
    '610729': ("留坝县", "汉中市", '724100', '0916', 'LB'),
    '610430': ("淳化县", "咸阳市", '711200', '029', 'CH'),
    '610926': ("平利县", "安康市", '725500', '0915', 'PL'),
    '610924': ("紫阳县", "安康市", '725300', '0915', 'ZY'),
    '610526': ("蒲城县", "渭南市", '715500', '0913', 'PC'),
    '610925': ("岚皋县", "安康市", '725400', '0915', 'LG'),
    '610929': ("白河县", "安康市", '725800', '0915', 'BH'),
    '611026': ("柞水县", "商洛市", '711400', '0914', 'ZS'),
    '610527': ("白水县", "渭南市", '715600', '0913', 'BS'),
    '610630': ("宜川县", "延安市", '716200', '0911', 'YC'),
    '610828': ("佳县", "榆林市", '719200', '0912', 'JX'),
    '610622': ("延川县", "延安市", '717200', '0911', 'YNC'),
    '610927': ("镇坪县", "安康市", '725600', '0915', 'ZP'),
    '611021': ("洛南县", "商洛市", '726100', '0914', 'LN'),
    '610528': ("富平县", "渭南市", '711700', '0913', 'FUP'),
    '610723': ("洋县", "汉中市", '723300', '0916', 'YX'),
    '610923': ("宁陕县", "安康市", '711600', '0915', 'NS'),
    '611023': ("商南县", "商洛市", '726300', '0914', 'SN'),
    '611024': ("山阳县", "商洛市", '726400', '0914', 'SY'),
    '610825': ("定边县", "榆林市", '718600', '0912', 'DB'),
    }

# Product categories (not accounting ones)
CATEGORIES = {
    'fruit': "果品", 'tea': "茶叶", 'grain': "粮油米面", 'fungi': "山珍干货",
    'honey': "蜂产品", 'drink': "饮品酒水", 'meat': "肉禽蛋",
    'food': "副食调味", 'herb': "中药材滋补",
    }

# (county, supplier, kind: coop 农民专业合作社 / company, 带贫人数, contact,
#  [(product, unit, list price, cost price, category), ...])
# Units: kg, and the counted units 盒, 袋, 瓶, 箱 created below.
SUPPLIERS = [
    ('610124', "周至县秦岭猕猴桃专业合作社", 'coop', 186, "赵建社", [
            ("周至猕猴桃礼盒（翠香 24枚）", '盒', 65, 42, 'fruit'),
            ("周至徐香猕猴桃（5kg）", '箱', 88, 58, 'fruit'),
            ("周至猕猴桃果干（200g）", '袋', 28, 17, 'fruit'),
            ]),
    ('610124', "周至县终南岭农业科技有限公司", 'company', 95, "刘小红", [
            ("秦岭土蜂蜜（500g）", '瓶', 78, 50, 'honey'),
            ("秦岭百花蜜礼盒", '盒', 128, 85, 'honey'),
            ("周至核桃仁（500g）", '袋', 45, 30, 'fungi'),
            ]),
    ('610124', "周至县沙河湾果蔬专业合作社", 'coop', 64, "孙满仓", [
            ("周至红心猕猴桃礼盒（18枚）", '盒', 98, 65, 'fruit'),
            ("猕猴桃原浆（300ml）", '瓶', 36, 22, 'drink'),
            ("猕猴桃果酱（250g）", '瓶', 26, 15, 'food'),
            ]),
    ('610124', "周至县翠峰电子商务有限公司", 'company', 42, "马晓娟", [
            ("周至猕猴桃礼盒（海沃德 30枚）", '盒', 70, 46, 'fruit'),
            ("秦岭土鸡蛋（30枚）", '盒', 58, 38, 'meat'),
            ("周至猕猴桃果脯（250g）", '袋', 32, 20, 'fruit'),
            ]),
    ('610827', "米脂县银州小米专业合作社", 'coop', 220, "高振武", [
            ("米脂小米（2.5kg）", '袋', 40, 26, 'grain'),
            ("米脂黄小米礼盒", '盒', 88, 58, 'grain'),
            ("米脂小米（散装）", 'kg', 16, 10, 'grain'),
            ]),
    ('610827', "米脂县无定河杂粮有限公司", 'company', 130, "常海军", [
            ("陕北杂粮礼盒", '盒', 98, 65, 'grain'),
            ("米脂黄米", 'kg', 14, 9, 'grain'),
            ("陕北绿豆", 'kg', 18, 12, 'grain'),
            ]),
    ('610827', "米脂县塬上香农副产品有限公司", 'company', 18, "艾玉兰", [
            ("米脂香谷米（2kg）", '袋', 45, 30, 'grain'),
            ("陕北手工粉条（1kg）", '袋', 30, 19, 'food'),
            ("米脂荞麦面粉（2.5kg）", '袋', 25, 16, 'grain'),
            ]),
    ('610921', "汉阴县硒源茶业有限公司", 'company', 310, "沈德明", [
            ("汉阴富硒绿茶（250g 礼盒）", '盒', 128, 85, 'tea'),
            ("汉阴富硒毛尖（250g）", '盒', 168, 110, 'tea'),
            ("汉阴炒青绿茶（500g）", '袋', 60, 40, 'tea'),
            ]),
    ('610921', "汉阴县凤凰山茶叶专业合作社", 'coop', 85, "吴春燕", [
            ("凤凰山高山绿茶（200g）", '盒', 98, 65, 'tea'),
            ("汉阴富硒红茶（200g）", '盒', 118, 78, 'tea'),
            ("凤凰山富硒白茶（150g）", '盒', 138, 90, 'tea'),
            ]),
    ('610921', "汉阴县月河粮油有限公司", 'company', 150, "陈国富", [
            ("汉阴富硒大米（5kg）", '袋', 65, 42, 'grain'),
            ("汉阴压榨菜籽油（5L）", '瓶', 98, 66, 'grain'),
            ("汉阴富硒糯米（2.5kg）", '袋', 38, 24, 'grain'),
            ]),
    ('610921', "汉阴县观音河腊味专业合作社", 'coop', 60, "黄永贵", [
            ("汉阴腊肉", 'kg', 98, 68, 'meat'),
            ("汉阴腊香肠", 'kg', 88, 60, 'meat'),
            ("汉阴腊猪蹄", 'kg', 78, 52, 'meat'),
            ]),
    ('610981', "旬阳市坝河拐枣开发有限公司", 'company', 260, "柯明军", [
            ("旬阳拐枣饮料（310ml×12）", '箱', 72, 48, 'drink'),
            ("旬阳拐枣醋（500ml）", '瓶', 32, 20, 'food'),
            ("旬阳拐枣酒（500ml）", '瓶', 128, 80, 'drink'),
            ]),
    ('610981', "旬阳市太极城农产品专业合作社", 'coop', 110, "邹传芳", [
            ("旬阳狮头柑（5kg）", '箱', 60, 38, 'fruit'),
            ("旬阳烤酒（500ml）", '瓶', 88, 56, 'drink'),
            ("旬阳狮头柑礼盒（12枚）", '盒', 78, 50, 'fruit'),
            ]),
    ('610981', "旬阳市汉江绿源生态农业有限公司", 'company', 75, "汪学文", [
            ("旬阳富硒魔芋挂面（1kg）", '袋', 18, 11, 'grain'),
            ("旬阳香菇（250g）", '袋', 45, 30, 'fungi'),
            ("旬阳土鸡蛋（30枚）", '盒', 52, 34, 'meat'),
            ]),
    ('610729', "留坝县紫柏山香菇专业合作社", 'coop', 140, "张天福", [
            ("留坝香菇（250g）", '袋', 38, 25, 'fungi'),
            ("留坝花菇礼盒", '盒', 128, 85, 'fungi'),
            ("留坝香菇酱（200g）", '瓶', 22, 13, 'food'),
            ]),
    ('610729', "留坝县栈道蜂业有限公司", 'company', 90, "周秀梅", [
            ("留坝土蜂蜜（500g）", '瓶', 98, 65, 'honey'),
            ("留坝蜂巢蜜（500g）", '盒', 138, 92, 'honey'),
            ("留坝百花蜜礼盒（2×500g）", '盒', 188, 125, 'honey'),
            ]),
    ('610729', "留坝县秦岭山珍土特产有限公司", 'company', 55, "杨宏伟", [
            ("留坝黑木耳（250g）", '袋', 42, 28, 'fungi'),
            ("留坝板栗", 'kg', 30, 19, 'fruit'),
            ("秦岭山核桃（500g）", '袋', 48, 30, 'fungi'),
            ]),
    ('610430', "淳化县仲山荞麦食品有限公司", 'company', 180, "李宏斌", [
            ("淳化荞麦挂面（1kg）", '袋', 20, 13, 'grain'),
            ("淳化苦荞茶（300g）", '盒', 45, 28, 'tea'),
            ("淳化荞麦面粉（2.5kg）", '袋', 22, 14, 'grain'),
            ]),
    ('610430', "淳化县北原蜂业专业合作社", 'coop', 70, "冯秋菊", [
            ("淳化荞麦蜜（500g）", '瓶', 68, 45, 'honey'),
            ("淳化洋槐蜜（500g）", '瓶', 78, 52, 'honey'),
            ("淳化蜂王浆（250g）", '瓶', 128, 85, 'honey'),
            ]),
    ('610430', "淳化县甘泉果业有限公司", 'company', 120, "王占奎", [
            ("淳化苹果（5kg）", '箱', 69, 45, 'fruit'),
            ("淳化黄桃罐头（500g）", '瓶', 18, 11, 'food'),
            ("淳化苹果脆片（100g）", '袋', 25, 15, 'fruit'),
            ]),
    ('610926', "平利县女娲山茶业有限公司", 'company', 240, "詹玉华", [
            ("平利绞股蓝茶（250g）", '盒', 88, 58, 'tea'),
            ("平利女娲银峰茶（200g）", '盒', 158, 105, 'tea'),
            ("绞股蓝袋泡茶（30包）", '盒', 48, 30, 'tea'),
            ]),
    ('610926', "平利县长安镇绞股蓝专业合作社", 'coop', 160, "罗运来", [
            ("平利绞股蓝龙须茶（250g）", '盒', 118, 78, 'tea'),
            ("平利富硒绞股蓝（500g）", '袋', 60, 38, 'tea'),
            ("平利绞股蓝挂面（1kg）", '袋', 22, 14, 'grain'),
            ]),
    ('610926', "平利县天书峡农产品有限公司", 'company', 45, "唐小勇", [
            ("平利富硒腊肉", 'kg', 96, 66, 'meat'),
            ("平利香菇（250g）", '袋', 40, 26, 'fungi'),
            ("平利土鸡蛋（30枚）", '盒', 55, 36, 'meat'),
            ]),
    ('610924', "紫阳县汉水硒茶有限公司", 'company', 560, "储德旺", [
            ("紫阳富硒茶（一级 250g）", '盒', 138, 92, 'tea'),
            ("紫阳毛尖（250g）", '盒', 198, 130, 'tea'),
            ("紫阳翠峰（250g）", '盒', 168, 110, 'tea'),
            ]),
    ('610924', "紫阳县焕古茶叶专业合作社", 'coop', 190, "覃家友", [
            ("焕古高山绿茶（200g）", '盒', 118, 78, 'tea'),
            ("紫阳工夫红茶（200g）", '盒', 128, 85, 'tea'),
            ("紫阳富硒白茶（100g）", '盒', 158, 105, 'tea'),
            ]),
    ('610924', "紫阳县任河农特产品有限公司", 'company', 58, "邓春梅", [
            ("紫阳蒸盆子礼盒", '盒', 168, 112, 'meat'),
            ("紫阳腊肉", 'kg', 98, 66, 'meat'),
            ("紫阳富硒魔芋粉（500g）", '袋', 25, 16, 'food'),
            ]),
    ('610526', "蒲城县尧山酥梨专业合作社", 'coop', 230, "雷建军", [
            ("蒲城酥梨（5kg）", '箱', 58, 38, 'fruit'),
            ("蒲城酥梨礼盒（12枚）", '盒', 88, 58, 'fruit'),
            ("蒲城秋梨膏（300g）", '瓶', 48, 30, 'food'),
            ]),
    ('610526', "蒲城县洛滨果品有限公司", 'company', 110, "党晓峰", [
            ("蒲城酥梨（10kg）", '箱', 98, 66, 'fruit'),
            ("蒲城红提葡萄（5kg）", '箱', 68, 45, 'fruit'),
            ]),
    ('610526', "蒲城县漫泉河农业科技有限公司", 'company', 66, "屈明亮", [
            ("蒲城酥梨汁（250ml×12）", '箱', 56, 36, 'drink'),
            ("蒲城手工挂面（2kg）", '袋', 22, 14, 'grain'),
            ]),
    ('610925', "岚皋县巴山魔芋有限公司", 'company', 200, "谭文斌", [
            ("岚皋魔芋精粉（500g）", '袋', 48, 30, 'food'),
            ("岚皋魔芋豆腐（1kg）", '袋', 15, 9, 'food'),
            ("岚皋魔芋挂面（1kg）", '袋', 19, 12, 'grain'),
            ]),
    ('610925', "岚皋县南宫山农特产专业合作社", 'coop', 80, "杜光荣", [
            ("岚皋腊肉", 'kg', 98, 66, 'meat'),
            ("岚皋富硒绿茶（200g）", '盒', 98, 65, 'tea'),
            ("岚皋杜仲茶（150g）", '盒', 58, 36, 'tea'),
            ]),
    ('610929', "白河县硒乡魔芋专业合作社", 'coop', 150, "胡兴旺", [
            ("白河魔芋精粉（500g）", '袋', 58, 36, 'food'),
            ("白河魔芋爽（20包）", '盒', 36, 22, 'food'),
            ]),
    ('610929', "白河县汉江木瓜开发有限公司", 'company', 95, "石翠兰", [
            ("白河木瓜酒（500ml）", '瓶', 88, 56, 'drink'),
            ("白河木瓜醋饮（310ml×12）", '箱', 60, 38, 'drink'),
            ("白河富硒茶（200g）", '盒', 88, 58, 'tea'),
            ]),
    ('611026', "柞水县秦岭耳乡专业合作社", 'coop', 600, "程志强", [
            ("柞水木耳（250g）", '袋', 45, 28, 'fungi'),
            ("柞水木耳礼盒（500g）", '盒', 128, 85, 'fungi'),
            ("柞水木耳脆片（60g）", '袋', 18, 11, 'fungi'),
            ]),
    ('611026', "柞水县乾佑河食用菌有限公司", 'company', 180, "鲁金平", [
            ("柞水香菇（250g）", '袋', 38, 24, 'fungi'),
            ("柞水黑木耳（500g）", '袋', 78, 50, 'fungi'),
            ("秦岭菌菇礼盒", '盒', 98, 65, 'fungi'),
            ]),
    ('611026', "柞水县凤凰古镇土特产有限公司", 'company', 52, "阮红霞", [
            ("柞水核桃", 'kg', 36, 23, 'fungi'),
            ("柞水土蜂蜜（500g）", '瓶', 88, 58, 'honey'),
            ("柞水板栗", 'kg', 28, 18, 'fruit'),
            ]),
    ('610527', "白水县北塬果业专业合作社", 'coop', 250, "拓建利", [
            ("白水苹果（红富士 5kg）", '箱', 68, 44, 'fruit'),
            ("白水苹果礼盒（12枚）", '盒', 88, 58, 'fruit'),
            ("白水苹果（75mm 10kg）", '箱', 98, 64, 'fruit'),
            ]),
    ('610527', "白水县仓颉故里农产品有限公司", 'company', 120, "田晓东", [
            ("白水苹果醋（500ml）", '瓶', 28, 17, 'drink'),
            ("白水苹果（80mm 10kg）", '箱', 118, 78, 'fruit'),
            ("白水苹果干（200g）", '袋', 26, 16, 'fruit'),
            ]),
    ('610630', "宜川县壶口果业专业合作社", 'coop', 160, "贺军平", [
            ("宜川苹果（5kg）", '箱', 70, 46, 'fruit'),
            ("宜川红富士礼盒（12枚）", '盒', 98, 65, 'fruit'),
            ("宜川苹果脆片（100g）", '袋', 25, 15, 'fruit'),
            ]),
    ('610630', "宜川县黄河塬农产品有限公司", 'company', 60, "白雪梅", [
            ("宜川核桃", 'kg', 40, 26, 'fungi'),
            ("宜川大红袍花椒（250g）", '袋', 35, 22, 'food'),
            ("宜川小米（2.5kg）", '袋', 30, 19, 'grain'),
            ]),
    ('610828', "佳县黄河红枣专业合作社", 'coop', 280, "张海生", [
            ("佳县油枣", 'kg', 32, 20, 'fruit'),
            ("佳县红枣礼盒（1kg）", '盒', 68, 45, 'fruit'),
            ("佳县枣夹核桃（500g）", '袋', 45, 28, 'fruit'),
            ]),
    ('610828', "佳县白云山农产品有限公司", 'company', 75, "乔彩霞", [
            ("佳县小米（2.5kg）", '袋', 35, 22, 'grain'),
            ("佳县红枣醋（500ml）", '瓶', 25, 15, 'food'),
            ]),
    ('610622', "延川县乾坤湾红枣有限公司", 'company', 210, "冯延平", [
            ("延川狗头枣", 'kg', 36, 23, 'fruit'),
            ("延川醉枣（500g）", '瓶', 42, 26, 'fruit'),
            ("延川红枣片（200g）", '袋', 22, 13, 'fruit'),
            ]),
    ('610622', "延川县文安驿农产品专业合作社", 'coop', 88, "刘志刚", [
            ("延川小米（2.5kg）", '袋', 32, 20, 'grain'),
            ("延川苹果（5kg）", '箱', 66, 43, 'fruit'),
            ]),
    ('610927', "镇坪县飞渡峡中药材有限公司", 'company', 130, "曾庆华", [
            ("镇坪黄连（250g）", '袋', 68, 44, 'herb'),
            ("镇坪天麻（250g）", '袋', 128, 85, 'herb'),
            ("镇坪腊肉", 'kg', 108, 72, 'meat'),
            ]),
    ('610927', "镇坪县南江湖农特产专业合作社", 'coop', 15, "王福来", [
            ("镇坪土豆粉条（1kg）", '袋', 28, 18, 'food'),
            ("镇坪富硒茶（200g）", '盒', 98, 65, 'tea'),
            ("镇坪洋芋片（200g）", '袋', 15, 9, 'food'),
            ]),
    ('611021', "洛南县洛源核桃专业合作社", 'coop', 170, "薛长安", [
            ("洛南核桃", 'kg', 32, 21, 'fungi'),
            ("洛南核桃仁（500g）", '袋', 55, 35, 'fungi'),
            ("洛南冷榨核桃油（500ml）", '瓶', 128, 85, 'grain'),
            ]),
    ('611021', "洛南县石门豆制品有限公司", 'company', 60, "何建设", [
            ("洛南五香豆腐干（礼盒）", '盒', 30, 18, 'food'),
            ("洛南豆腐乳（300g）", '瓶', 18, 11, 'food'),
            ("洛南黄豆", 'kg', 12, 8, 'grain'),
            ]),
    ('610528', "富平县庄里柿业专业合作社", 'coop', 200, "惠志军", [
            ("富平柿饼（1kg 礼盒）", '盒', 88, 58, 'fruit'),
            ("富平合儿饼（500g）", '盒', 68, 45, 'fruit'),
            ("富平柿子醋（500ml）", '瓶', 28, 17, 'food'),
            ]),
    ('610528', "富平县温泉河羊乳制品有限公司", 'company', 140, "韦小军", [
            ("富平羊奶粉（400g）", '盒', 168, 110, 'drink'),
            ("富平羊奶片（100g）", '袋', 35, 22, 'food'),
            ]),
    ('610723', "洋县朱鹮湖有机农业有限公司", 'company', 230, "钟国强", [
            ("洋县黑米（2.5kg）", '袋', 58, 38, 'grain'),
            ("洋县有机大米（5kg）", '袋', 78, 52, 'grain'),
            ("洋县黑米酒（500ml）", '瓶', 68, 44, 'drink'),
            ]),
    ('610723', "洋县华阳山珍专业合作社", 'coop', 85, "郭玉莲", [
            ("洋县红米（2.5kg）", '袋', 45, 29, 'grain'),
            ("华阳天麻礼盒（250g）", '盒', 168, 112, 'herb'),
            ("洋县香米（5kg）", '袋', 68, 45, 'grain'),
            ]),
    ('610923', "宁陕县秦岭筒古蜂业专业合作社", 'coop', 110, "宋大宝", [
            ("宁陕筒子土蜂蜜（500g）", '瓶', 118, 78, 'honey'),
            ("宁陕板栗", 'kg', 26, 16, 'fruit'),
            ]),
    ('610923', "宁陕县旬河源山珍有限公司", 'company', 48, "夏明华", [
            ("宁陕香菇（250g）", '袋', 40, 26, 'fungi'),
            ("宁陕猪苓（250g）", '袋', 98, 64, 'herb'),
            ("宁陕山核桃仁（250g）", '袋', 58, 37, 'fungi'),
            ]),
    ('611023', "商南县金丝峡茶业有限公司", 'company', 150, "汤德华", [
            ("商南绿茶（250g）", '盒', 118, 78, 'tea'),
            ("商南红茶（250g）", '盒', 128, 85, 'tea'),
            ("商南茶饼（357g）", '盒', 98, 64, 'tea'),
            ]),
    ('611024', "山阳县天竺山九眼莲专业合作社", 'coop', 90, "陈立新", [
            ("山阳九眼莲", 'kg', 12, 7, 'food'),
            ("山阳莲藕粉（500g）", '盒', 48, 30, 'food'),
            ("山阳核桃", 'kg', 30, 19, 'fungi'),
            ]),
    ('610825', "定边县白于山荞麦专业合作社", 'coop', 140, "杨建新", [
            ("定边荞麦米", 'kg', 12, 7, 'grain'),
            ("定边荞麦面（2kg）", '袋', 20, 13, 'grain'),
            ("定边羊肉", 'kg', 88, 60, 'meat'),
            ]),
    ]

# Certifications that expire soon: supplier -> days left
EXPIRING = {
    "留坝县栈道蜂业有限公司": 4,
    "白河县汉江木瓜开发有限公司": 6,
    "佳县白云山农产品有限公司": 15,
    "蒲城县漫泉河农业科技有限公司": 27,
    "宜川县黄河塬农产品有限公司": 48,
    "富平县温泉河羊乳制品有限公司": 83,
    }
# New applications, not certified yet
DRAFT = ["山阳县天竺山九眼莲专业合作社", "定边县白于山荞麦专业合作社"]
# Suspended after a food-safety incident on one of its products
SUSPENDED = "洛南县石门豆制品有限公司"
INCIDENT_PRODUCT = "洛南五香豆腐干（礼盒）"
INCIDENT_NOTE = (
    "演示数据：县市场监管局抽检通报该批次（生产日期见抽检报告）菌落总数"
    "超标，立即下架并启动召回，已售出的批次按追溯记录通知采购单位。")
SUSPEND_COMMENT = (
    "演示数据：因产品抽检不合格暂停认定，待整改复检合格后恢复。")
# A supplier whose purchases come close to its cap (18 × 5000 = 90000)
NEAR_CAP = "米脂县塬上香农副产品有限公司"

# Not relief products: (name, type, unit, list price, cost price)
OTHER_PRODUCTS = [
    ("礼盒包装（双层手提）", 'goods', 'unit', 15, 8),
    ("保温泡沫箱", 'goods', 'unit', 12, 6),
    ("物流配送服务", 'service', 'unit', 20, 12),
    ("冷链配送服务", 'service', 'unit', 45, 30),
    ]

VILLAGES = [
    "王家庄", "柳树沟", "石门", "龙王沟", "红岩", "杨家河", "桃园", "白杨坪",
    "双河口", "松树湾", "茶园", "枣林坪"]
STREETS = ["滨河路", "建设路", "解放路", "人民路", "迎宾大道", "工业园区"]


def load(config, passwords):
    rng = random.Random(2260)  # the same data at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    # The administrator sets the rule and the products (their accounting
    # category is for the accounting groups only) ...
    create_rule(config)
    uoms = create_uoms(config)
    categories = create_categories(config)
    suppliers = create_suppliers(config, rng)
    templates = create_products(config, suppliers, uoms, categories)
    create_other_products(config, uoms, categories)
    # ... the back office (a user of the relief loader) certifies, lists,
    # buys and delists: only its group may click these buttons.
    with as_user(config, 'backoffice'):
        certifications = certify_suppliers(config, rng, suppliers, today)
        entries = certify_products(
            config, rng, suppliers, certifications, templates, today)
        create_purchases(config, rng, suppliers, templates, entries, today)
        incident(config, certifications, templates, entries)


@contextmanager
def as_user(config, login):
    "Call the server as the user login, with its preferences as context"
    User = Model.get('res.user', config=config)
    user, = User.find([('login', '=', login)])
    saved = config.user, config._context
    config.user = user.id
    try:
        config._context = User.get_preferences(True, {})
        yield
    finally:
        config.user, config._context = saved


# Records per create or click.  On SQLite, trytond checks an Exclude
# constraint with one OR clause per record written, and SQLite's parser
# overflows beyond about 90 of them.
BATCH = 40


def _batches(records):
    for i in range(0, len(records), BATCH):
        yield records[i:i + BATCH]


def _create(config, model, vlist):
    "Create records from values, a batch a call; return proteus records"
    Model_ = Model.get(model, config=config)
    ids = []
    for batch in _batches(vlist):
        ids += Model_._proxy.create(batch, config.context)
    return [Model_(i) for i in ids]


def _click(records, button):
    "Click button on records, a batch a call"
    for batch in _batches(records):
        type(batch[0]).click(batch, button)


def _ref(config, xml_id):
    ModelData = Model.get('ir.model.data', config=config)
    module, fs_id = xml_id.split('.')
    return ModelData.get_id(module, fs_id, config.context)


def create_rule(config):
    Rule = Model.get('relief.rule', config=config)
    Subdivision = Model.get('country.subdivision', config=config)
    shaanxi, = Subdivision.find([('code', '=', 'CN-SN')])
    if Rule.find([
                ('jurisdiction', '=', shaanxi.id),
                ('kind', '=', 'purchase_cap_per_person'),
                ]):
        return
    rule = Rule(jurisdiction=shaanxi, kind='purchase_cap_per_person')
    rule.value = CAP_PER_PERSON
    rule.valid_from = dt.date(2020, 1, 1)
    rule.source = RULE_SOURCE
    rule.comment = RULE_COMMENT
    rule.save()


def create_uoms(config):
    "Kilogram and the counted units the products are sold in"
    Uom = Model.get('product.uom', config=config)
    unit = Uom(_ref(config, 'product.uom_unit'))
    uoms = {
        'kg': Uom(_ref(config, 'product.uom_kilogram')),
        'unit': unit,
        }
    names = ['盒', '袋', '瓶', '箱']
    existing = {u.name: u for u in Uom.find([
                ('category', '=', unit.category.id), ('name', 'in', names)])}
    missing = [n for n in names if n not in existing]
    created = _create(config, 'product.uom', [{
                'name': n, 'symbol': n, 'category': unit.category.id,
                'rate': 1, 'factor': 1, 'rounding': 1, 'digits': 0,
                } for n in missing])
    existing.update(zip(missing, created))
    uoms.update(existing)
    return uoms


def create_categories(config):
    from trytond.modules.account.tests.tools import get_accounts
    Company = Model.get('company.company', config=config)
    company, = Company.find()
    accounts = get_accounts(company, config=config)
    account, = _create(config, 'product.category', [{
                'name': "消费帮扶产品",
                'accounting': True,
                'account_expense': accounts['expense'].id,
                'account_revenue': accounts['revenue'].id,
                }])
    parent, = _create(config, 'product.category', [{'name': "扶贫产品"}])
    children = _create(config, 'product.category', [
            {'name': name, 'parent': parent.id}
            for name in CATEGORIES.values()])
    categories = dict(zip(CATEGORIES, children))
    categories['account'] = account
    categories['other'], = _create(
        config, 'product.category', [{'name': "包装与服务"}])
    return categories


def credit_code(rng, county, kind):
    "A valid unified social credit code registered in county (GB 32100)"
    alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY'
    # organisation code (GB 11714): 8 characters and a check character
    body = 'MA' + ''.join(rng.choice(alphabet[:10] + 'BCDEFGHJ')
        for _ in range(6))
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c, 36) * w for c, w in zip(body, weights))
    check = 11 - total % 11
    check = {10: 'X', 11: '0'}.get(check, str(check))
    # 9: registered by the market regulator; 1 enterprise, 3 cooperative
    number = ('93' if kind == 'coop' else '91') + county + body + check
    number += uscc.calc_check_digit(number)
    assert uscc.is_valid(number), number
    return number


def create_suppliers(config, rng):
    "The supplier parties, with their address, credit code and contacts"
    Subdivision = Model.get('country.subdivision', config=config)
    Lang = Model.get('ir.lang', config=config)
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    counties = {s.gbt2260_code: s for s in Subdivision.find([
                ('gbt2260_code', 'in', list(COUNTIES)),
                ])}
    # Tryton 8.0 names the credit code 'cn_vat' (the VAT alias of stdnum's
    # cn.uscc); older versions 'cn_uscc'
    PartyConfiguration = Model.get('party.configuration', config=config)
    types = {t for t, _ in
        PartyConfiguration._fields['identifier_types']['selection']}
    uscc_type = 'cn_uscc' if 'cn_uscc' in types else 'cn_vat'
    category, = _create(config, 'party.category', [
            {'name': "消费帮扶供应商"}])
    vlist = []
    seen = set()
    for i, (code, name, kind, _, contact, _) in enumerate(SUPPLIERS):
        _, _, postal_code, area, _ = COUNTIES[code]
        county = counties[code]
        # The Chinese address format reads subdivision, city, street: the
        # county, its town and the village or street.
        if kind == 'coop':
            street = "%s村%d组" % (
                rng.choice(VILLAGES), rng.randint(1, 9))
        else:
            street = "%s%d号" % (rng.choice(STREETS), rng.randint(1, 288))
        usc = credit_code(rng, code, kind)
        assert usc not in seen
        seen.add(usc)
        # Invented numbers: 8000xxx office lines, 1xx-0000-xxxx mobiles
        office = '%s-%s%04d' % (area, '8000' if area == '029' else '800',
            i + 1)
        mobile = '1%s-0000-%04d' % (rng.choice(['38', '39', '58', '87']),
            rng.randint(1, 9999))
        vlist.append({
                'name': name,
                'lang': zh_cn.id,
                'categories': [('add', [category.id])],
                'addresses': [('create', [{
                                'country': county.country.id,
                                'subdivision': county.id,
                                'city': "城关镇",
                                'street_unstructured': street,
                                'postal_code': postal_code,
                                }])],
                'identifiers': [('create', [{
                                'type': uscc_type, 'code': usc}])],
                'contact_mechanisms': [('create', [
                            {'type': 'phone', 'value': office,
                                'name': contact},
                            {'type': 'mobile', 'value': mobile,
                                'name': contact},
                            ])],
                })
    parties = _create(config, 'party.party', vlist)
    return {s[1]: (p, counties[s[0]], s) for s, p in zip(SUPPLIERS, parties)}


def _add_years(date, years):
    try:
        return date.replace(year=date.year + years)
    except ValueError:  # 29 February
        return date.replace(year=date.year + years, day=28)


def _period(rng, today, name):
    "Validity of the supplier's certificate: 2 or 3 years"
    years = rng.choice([2, 3])
    if name in EXPIRING:
        valid_to = today + dt.timedelta(days=EXPIRING[name])
        valid_from = _add_years(valid_to, -years) + (
            dt.timedelta(days=1))
    elif name in DRAFT:
        valid_from = today + dt.timedelta(days=rng.randint(5, 20))
        valid_to = _add_years(valid_from, years) - (
            dt.timedelta(days=1))
    else:
        # certified at least 200 days ago, at least 120 days left
        latest = 365 * years - 120
        valid_from = today - dt.timedelta(
            days=rng.randint(200, min(latest, 900)))
        valid_to = _add_years(valid_from, years) - (
            dt.timedelta(days=1))
    return valid_from, valid_to


def certify_suppliers(config, rng, suppliers, today):
    vlist, names = [], []
    sequences = {}
    for name, (party, county, data) in suppliers.items():
        code, _, _, poor_people, contact, _ = data
        county_name, _, _, _, prefix = COUNTIES[code]
        valid_from, valid_to = _period(rng, today, name)
        sequences[code] = sequences.get(code, rng.randint(3, 40)) + (
            rng.randint(1, 12))
        number = None
        if name not in DRAFT:
            number = '%sFP-%d-%03d' % (
                prefix, valid_from.year, sequences[code])
        phone = next(m.value for m in party.contact_mechanisms
            if m.type == 'phone')
        vlist.append({
                'supplier': party.id,
                'county': county.id,
                'office': county_name + "乡村振兴局",
                'number': number,
                'poor_people': poor_people,
                'contact': contact,
                'phone': phone,
                'valid_from': valid_from,
                'valid_to': valid_to,
                'comment': ("演示数据：新申请，待县乡村振兴局审核。"
                    if name in DRAFT else None),
                })
        names.append(name)
    records = _create(config, 'relief.supplier.certification', vlist)
    certifications = dict(zip(names, records))
    _click([c for n, c in certifications.items() if n not in DRAFT],
        'certify')
    return certifications


def gtin13(company, item):
    """An invented GTIN-13 of a GS1 China prefix (697): the supplier's
    company number and an item number, with its check digit"""
    digits = f'697{company:04d}{item:05d}'
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str(-total % 10)


def create_products(config, suppliers, uoms, categories):
    "The relief product templates, each bought from its supplier"
    vlist, keys, numbers = [], [], {}
    for company, (name, (party, county, data)) in enumerate(
            suppliers.items(), 1):
        code = data[0]
        for item, (product, unit, list_price, cost_price, category) in (
                enumerate(data[5], 1)):
            uom = uoms[unit].id
            numbers[code] = numbers.get(code, 0) + 1
            vlist.append({
                    'name': product,
                    'code': 'FP%s%03d' % (code, numbers[code]),
                    'type': 'goods',
                    'relief': True,
                    'default_uom': uom,
                    'purchase_uom': uom,
                    'sale_uom': uom,
                    'purchasable': True,
                    'salable': True,
                    'list_price': Decimal(list_price),
                    'account_category': categories['account'].id,
                    'categories': [('add', [categories[category].id])],
                    'products': [('create', [{
                                    'cost_price': Decimal(cost_price),
                                    'identifiers': [('create', [{
                                                    'type': 'ean',
                                                    'code': gtin13(
                                                        company, item),
                                                    }])],
                                    }])],
                    'product_suppliers': [('create', [{
                                    'party': party.id,
                                    'lead_time': dt.timedelta(days=3),
                                    'prices': [('create', [{
                                                    'quantity': 0,
                                                    'unit_price': Decimal(
                                                        cost_price),
                                                    }])],
                                    }])],
                    })
            keys.append((name, product))
    return dict(zip(keys, _create(config, 'product.template', vlist)))


def certify_products(
        config, rng, suppliers, certifications, templates, today):
    "Certify each product (national catalogue number) and list it"
    vlist, keys, numbers = [], [], {}
    for (name, product), template in templates.items():
        party, county, data = suppliers[name]
        certification = certifications[name]
        code = data[0]
        numbers[code] = numbers.get(code, 0) + 1
        vlist.append({
                'template': template.id,
                'supplier': party.id,
                'supplier_certification': certification.id,
                'catalogue_number': 'CNFP-%s-%04d' % (code, numbers[code]),
                'valid_from': certification.valid_from,
                'valid_to': certification.valid_to,
                })
        keys.append((name, product))
    records = _create(config, 'relief.product.certification', vlist)
    _click([r for k, r in zip(keys, records) if k[0] not in DRAFT],
        'certify')

    listed = [k for k in keys if k[0] not in DRAFT]
    entries = _create(config, 'relief.catalogue.entry', [{
                'template': templates[k].id,
                'listed': min(
                    certifications[k[0]].valid_from
                    + dt.timedelta(days=rng.randint(7, 45)),
                    today),
                } for k in listed])
    _click(entries, 'list_')
    return dict(zip(listed, entries))


def create_other_products(config, uoms, categories):
    _create(config, 'product.template', [{
                'name': name,
                'type': type_,
                'default_uom': uoms[unit].id,
                'purchase_uom': uoms[unit].id,
                'sale_uom': uoms[unit].id,
                'purchasable': True,
                'salable': True,
                'list_price': Decimal(list_price),
                'account_category': categories['account'].id,
                'categories': [('add', [categories['other'].id])],
                'products': [('create', [{
                                'cost_price': Decimal(cost_price)}])],
                } for name, type_, unit, list_price, cost_price
            in OTHER_PRODUCTS])


def create_purchases(config, rng, suppliers, templates, entries, today):
    """30 confirmed purchases of the last months, one supplier close to its
    cap; they pass the module's certification and cap checks on confirm"""
    Purchase = Model.get('purchase.purchase', config=config)
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    terms = PaymentTerm.find([], limit=1)
    start = max(today - dt.timedelta(days=140), today.replace(month=1, day=1))

    def listed_products(name):
        return [(product, entries[(name, product)])
            for n, product in templates if n == name]

    buyable = [name for name in suppliers
        if name not in DRAFT and name not in {NEAR_CAP, SUSPENDED}]
    # (supplier, amount): near the cap, 86,400 of 90,000 in four orders;
    # the suspended supplier was bought from before its incident
    orders = [(NEAR_CAP, a) for a in [24000, 18600, 25200, 18600]]
    orders += [(n, rng.randrange(6000, 60000, 600))
        for n in rng.sample(buyable, 25) + [SUSPENDED]]

    purchases = []
    for name, amount in orders:
        party = suppliers[name][0]
        products = listed_products(name)
        first = max([start] + [e.listed for _, e in products])
        date = first + dt.timedelta(
            days=rng.randint(0, max((today - first).days - 1, 0)))
        purchase = Purchase(party=party, purchase_date=date)
        if terms:
            purchase.payment_term, = terms
        purchase.description = "节日慰问品备货（演示数据）"
        chosen = products if name in {NEAR_CAP, SUSPENDED} else rng.sample(
            products, rng.randint(1, len(products)))
        share = Decimal(amount) / len(chosen)
        for product, _ in chosen:
            template = templates[(name, product)]
            line = purchase.lines.new()
            line.product = template.products[0]
            price = template.products[0].cost_price
            line.quantity = max(int(share / price), 1)
            line.unit_price = price
        purchases.append(purchase)
    Purchase.save(purchases)
    _click(purchases, 'quote')
    _click(purchases, 'confirm')


def incident(config, certifications, templates, entries):
    "A food-safety incident: the product is delisted, its supplier suspended"
    entry = entries[(SUSPENDED, INCIDENT_PRODUCT)]
    entry.delist_reason = 'food_safety'
    entry.delist_note = INCIDENT_NOTE
    entry.click('delist')
    certification = certifications[SUSPENDED]
    certification.comment = SUSPEND_COMMENT
    certification.save()
    certification.click('suspend')
