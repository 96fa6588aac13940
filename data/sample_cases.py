"""The cases the source document tells, as issues of the sample subdistrict.

``compound`` names the compound the issue is located in (or None: the community's first),
``meetings`` how many consultation meetings it took, ``platform`` where they were held.
"""

_PROPERTY_CERTS = [("溪畔美域", "汇丰社区", 236), ("颐和美丽园", "颐苑社区", 198), ("中央名邸", "中心路社区", 159)]

CASES = [
    dict(title="乐福国际小区北侧道路因强降雨损毁", compound="乐福国际小区", community="汇丰社区",
         category="road", channel="bench_talk", stage="closed", livelihood=True, meetings=5,
         platform="bench_talk", age_days=300,
         description="强降雨造成小区北侧道路损毁，路面塌陷、单元口台阶破损，居民出行困难。",
         result="历时 2 个月，多次召开小板凳恳谈会，完成修复硬化路面 230 米、单元口台阶 12 处，"
                "整合空地 1 处，增设充电桩 22 个。"),
    dict(title="如意街社区供水管网改造（水改工程）", compound=None, community="如意街社区",
         category="utilities", channel="council", stage="closed", livelihood=True, meetings=3,
         platform="residents_council", age_days=420,
         description="老旧供水管道锈蚀漏水，水压不稳，居民议事代表提出改造建议。",
         result="多次召开居民议事会，按照居民共同表决的意愿，高效完成水改工程。"),
    dict(title="长乐街改造", compound=None, community="长乐街社区", category="road",
         channel="public_opinion", stage="closed", livelihood=True, meetings=2,
         platform="residents_council", age_days=500,
         description="长乐街路面破损、管线杂乱，沿街居民和商户希望整体改造。",
         result="长乐街改造完成，路面、照明和排水一并更新。"),
    dict(title="新春年货节", compound=None, community="中心路社区", category="consumption",
         channel="bench_talk", stage="closed", livelihood=False, meetings=1, platform="bench_talk",
         age_days=320, description="辖区商户提出举办年货节、带动消费的需求。",
         result="街道联合商户打造“新春年货节”消费场景。"),
    dict(title="鸿盛美食街", compound=None, community="鸿盛社区", category="consumption",
         channel="bench_talk", stage="closed", livelihood=False, meetings=1, platform="bench_talk",
         age_days=260, description="个体工商户希望集中经营、打造美食街。",
         result="打造“鸿盛美食街”消费场景，引领消费热点。"),
    dict(title="家门口的健康驿站", compound=None, community="江南小镇社区", category="services",
         channel="zhongzhong_tv", stage="closed", livelihood=True, meetings=2, platform="bench_talk",
         age_days=200, description="老年居民希望在家门口测血压、看小病。",
         result="江南小镇社区健康驿站建成投用。"),
    dict(title="便民食堂", compound=None, community="江南小镇社区", category="services",
         channel="bench_talk", stage="closed", livelihood=True, meetings=2, platform="bench_talk",
         age_days=190, description="独居老人、双职工家庭吃饭不方便。", result="江南小镇社区便民食堂开业。"),
    dict(title="15 分钟党群服务圈", compound=None, community="盛世社区", category="services",
         channel="council", stage="closed", livelihood=True, meetings=2, platform="residents_council",
         age_days=230, description="居民希望步行 15 分钟内办成常用事项。",
         result="盛世社区“15 分钟党群服务圈”建成。"),
    dict(title="便民维修铺子入驻", compound=None, community="颐苑社区", category="services",
         channel="e_wangtong", stage="closed", livelihood=True, meetings=1, platform="bench_talk",
         age_days=150, description="修鞋、配钥匙、修家电找不到地方。", result="颐苑社区便民维修铺子入驻。"),
    dict(title="精准促就业：求职需求收集与岗位匹配", compound=None, community="工业路社区",
         category="employment", channel="e_wangtong", stage="implement", livelihood=True, meetings=2,
         platform="cppcc_consult", age_days=90,
         description="年轻人就业意愿差、中年人信息获取难、老年人希望再就业。"),
    dict(title="老旧楼栋加装电梯", compound="颐和美丽园", community="颐苑社区", category="elevator",
         channel="bench_talk", stage="closed", livelihood=True, meetings=3, platform="bench_talk",
         age_days=400, description="6 层老楼无电梯，老年住户上下楼困难。", result="完成 2 部电梯加装。"),
    dict(title="3 号楼加装电梯意见征集", compound="中央名邸", community="中心路社区",
         category="elevator", channel="home_visit", stage="consult", livelihood=True, meetings=2,
         platform="bench_talk", age_days=40, description="低层住户与高层住户意见不一，需协商费用分摊。"),
] + [
    dict(title=f"{name}不动产证办理", compound=name, community=community, category="property",
         channel="council", stage="closed", livelihood=True, meetings=2, platform="residents_council",
         age_days=600 - 50 * i, description=f"{name}住户多年未能办理不动产证。",
         result=f"协调相关部门，为{name} {households} 户居民办理不动产证。")
    for i, (name, community, households) in enumerate(_PROPERTY_CERTS)
]
