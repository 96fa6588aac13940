-- What an Open311 client shows residents when they pick a category (services.json): what
-- the category covers, the words they might search for, and the group it is listed under.

ALTER TABLE category
    ADD COLUMN description_zh text NOT NULL DEFAULT '',
    ADD COLUMN description_en text NOT NULL DEFAULT '',
    ADD COLUMN keywords       text NOT NULL DEFAULT '',   -- comma-separated, as Open311 wants
    ADD COLUMN group_zh       text NOT NULL DEFAULT '民生诉求',
    ADD COLUMN group_en       text NOT NULL DEFAULT 'Livelihood';

UPDATE category SET description_zh = d.zh, description_en = d.en, keywords = d.keywords FROM (VALUES
    ('road',        '路面破损、积水，人行道、台阶损坏',
                    'Damaged road surfaces, standing water, broken pavements and steps',
                    '道路,路面,坑洼,积水,人行道,台阶'),
    ('elevator',    '老旧楼栋申请加装电梯、协商费用分摊',
                    'Retrofitting an elevator to an old building and sharing its cost',
                    '电梯,加装电梯,老旧小区'),
    ('utilities',   '供水、供电、燃气、供暖和楼道照明',
                    'Water supply, power, gas, heating and stairwell lighting',
                    '自来水,水压,停电,燃气,暖气,照明'),
    ('property',    '物业服务、公共维修资金、不动产证办理',
                    'Property management, maintenance funds, property certificates',
                    '物业,维修资金,不动产证'),
    ('sanitation',  '垃圾清运、楼道杂物、绿化养护',
                    'Rubbish collection, clutter in stairwells, green spaces',
                    '垃圾,杂物,绿化,卫生'),
    ('parking',     '停车位、电动车充电桩、消防通道被占',
                    'Parking spaces, e-bike charging points, blocked fire lanes',
                    '停车,充电桩,电动车,消防通道'),
    ('employment',  '求职咨询、就业岗位对接',
                    'Job-seeking advice and job matching',
                    '就业,求职,招聘,岗位'),
    ('dispute',     '邻里噪音、漏水等纠纷调解',
                    'Mediating neighbour disputes such as noise or leaks',
                    '纠纷,邻里,噪音,漏水,调解'),
    ('consumption', '年货节、美食街等促进消费的活动与建议',
                    'Events and suggestions that bring business to local shops',
                    '消费,年货节,美食街,商户'),
    ('services',    '便民食堂、老年助餐、维修点、健康小站',
                    'Canteens, meals for older residents, repair shops, health stations',
                    '食堂,助餐,维修,健康,便民'),
    ('other',       '不属于以上类别的诉求',
                    'Anything not covered by the other categories',
                    '其他,活动场地,宠物')
) AS d(code, zh, en, keywords)
WHERE category.code = d.code;

UPDATE category SET group_zh = '发展建议', group_en = 'Local economy' WHERE NOT livelihood;
