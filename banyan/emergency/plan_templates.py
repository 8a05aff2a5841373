"""The shipped plan templates (预案模板): one per hazard, unfolded to each level IV (blue) → I (red).

They follow the practice of Chinese community emergency plans (社区防汛防台、消防、燃气、防暑降温、
防寒潮、疫情防控…预案): the community's emergency group led by the community committee (by the street
office at level I), the property company for the buildings, grid workers for the residents, the micro
fire station for first response, volunteers for the vulnerable. A more severe level adds tasks, opens more
facilities, stages more supplies and gives every task less time. Plain data: the community edits its
copies in the plan pages, never these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from banyan.core.choices import Role
from banyan.emergency.choices import HazardKind, Level
from banyan.people.choices import OrganisationKind as Org
from banyan.places.choices import FacilityKind

COMMITTEE, PROPERTY, STREET = Org.COMMUNITY_COMMITTEE, Org.PROPERTY_COMPANY, Org.STREET_OFFICE
SOCIAL, FIRE, CLINIC, POLICE = Org.SOCIAL_ORGANISATION, Org.MICRO_FIRE_STATION, Org.CLINIC, Org.POLICE
DIRECTOR, GRID, STAFF, VOLUNTEER = (
    Role.COMMUNITY_DIRECTOR,
    Role.GRID_WORKER,
    Role.PROPERTY_STAFF,
    Role.VOLUNTEER,
)

# Level → what a task's time is multiplied by, what supplies are multiplied by, the roll call's wait.
DUE_FACTOR = {1: 0.5, 2: 0.75, 3: 1.0, 4: 1.0}
SUPPLY_FACTOR = {1: 4, 2: 3, 3: 2, 4: 1}
ROLL_CALL_WAIT = {1: 10, 2: 15, 3: 20, 4: 30}
VULNERABLE_WAIT = {1: 5, 2: 5, 3: 5, 4: 10}
# From level III up the community's volunteers (楼栋长, party members on call) are put on duty on activation.
CALL_UP_HOURS = {1: 48, 2: 24, 3: 12}
# The least severe level a CAP warning must reach to propose the plan of that level.
MIN_SEVERITY = {1: "Extreme", 2: "Severe", 3: "Moderate", 4: "Minor"}
LEVEL_ZH = {1: "Ⅰ级（红色）", 2: "Ⅱ级（橙色）", 3: "Ⅲ级（黄色）", 4: "Ⅳ级（蓝色）"}
LEVEL_EN = {1: "Level I (red)", 2: "Level II (orange)", 3: "Level III (yellow)", 4: "Level IV (blue)"}


@dataclass(frozen=True)
class TaskTemplate:
    key: str
    title_zh: str
    title_en: str
    owner_kind: str
    owner_role: str
    due_minutes: int  # at levels IV and III; less at II and I
    from_level: int = 4  # the least severe level that has it (4: every level; 2: II and I)


@dataclass(frozen=True)
class NoticeTemplate:
    key: str
    audience: str
    text_zh: str
    text_en: str
    channels: tuple[str, ...]
    from_level: int = 4


@dataclass(frozen=True)
class HazardTemplate:
    plan_zh: str
    plan_en: str
    cap_events: tuple[str, ...]  # CAP <event> names a government warning of this hazard carries, zh and en
    alert_rules: tuple[str, ...]  # incident categories of local alert rules that propose the plan
    tasks: tuple[TaskTemplate, ...]
    notices: tuple[NoticeTemplate, ...]
    facilities: dict[str, int] = field(default_factory=dict)  # kind → from_level
    supplies: dict[str, int] = field(default_factory=dict)  # kind → quantity at level IV


T, N = TaskTemplate, NoticeTemplate
AREA_CHANNELS = ("in_app", "sms")
VULNERABLE_CHANNELS = ("voice", "carer", "sms")
URGENT_CHANNELS = ("in_app", "sms", "voice", "carer")

# Every plan starts with these: the emergency group meets, the street office is told, the vulnerable
# are called, reports go up while it lasts, volunteers stand by.
COMMON_TASKS = (
    T(
        "convene",
        "启动应急响应，召集社区应急工作组",
        "Start the response and call the community emergency group",
        COMMITTEE,
        DIRECTOR,
        15,
    ),
    T(
        "report_street",
        "向街道报告响应启动情况",
        "Report the start of the response to the street office",
        COMMITTEE,
        DIRECTOR,
        30,
    ),
    T(
        "vulnerable_check",
        "逐一联系独居、高龄、失能等重点人员",
        "Contact every vulnerable resident (living alone, very old, disabled)",
        COMMITTEE,
        GRID,
        60,
    ),
    T("duty_roster", "落实24小时值班值守", "Put a 24-hour duty roster in place", COMMITTEE, DIRECTOR, 60, 3),
    T(
        "volunteers",
        "组织志愿者队伍集结待命",
        "Muster the volunteer team on standby",
        SOCIAL,
        VOLUNTEER,
        90,
        3,
    ),
    T(
        "situation_report",
        "每两小时向街道报送一次情况",
        "Send the street office a situation report every two hours",
        COMMITTEE,
        GRID,
        120,
        2,
    ),
)


def _vulnerable(text_zh: str, text_en: str) -> NoticeTemplate:
    return N("vulnerable", "vulnerable", text_zh, text_en, VULNERABLE_CHANNELS)


CALL_BACK_ZH = "社区工作人员会联系您确认安全。如需帮助，请回复本消息或拨打社区电话。"
CALL_BACK_EN = (
    "Community staff will contact you to check that you are safe. "
    "If you need help, reply to this message or call the community office."
)

EVACUATE = N(
    "evacuate",
    "area",
    "请危险区域居民听从社区安排，立即转移到避灾安置点，带好身份证件、常用药品和饮用水。",
    "Residents of the danger area: follow the community's instructions and move to the shelter now, with "
    "your ID, your medicines and drinking water.",
    URGENT_CHANNELS,
    2,
)
TRANSFER = T(
    "transfer",
    "组织危险区域人员转移至避灾安置点",
    "Move the people of the danger area to the shelter",
    COMMITTEE,
    DIRECTOR,
    180,
    2,
)
SHELTER_OPEN = T(
    "shelter_open",
    "开放避灾安置点，落实床铺、饮用水和食品",
    "Open the shelter with beds, drinking water and food",
    COMMITTEE,
    DIRECTOR,
    120,
    2,
)
DRAINS = T(
    "drains",
    "疏通雨水井和排水沟，备好沙袋",
    "Clear the storm drains and gullies, have sandbags ready",
    PROPERTY,
    STAFF,
    120,
)
BASEMENTS = T(
    "basement_watch",
    "地下车库、地下室派人值守，备好挡水板和水泵",
    "Post a watch at the underground garages and basements, with flood barriers and pumps",
    PROPERTY,
    STAFF,
    90,
    3,
)
EVACUATE_BUILDING = T(
    "evacuate_building",
    "组织受影响楼栋人员疏散，优先协助行动不便者",
    "Evacuate the affected building, helping those who cannot walk well first",
    COMMITTEE,
    GRID,
    15,
)
HEADCOUNT = T(
    "headcount",
    "在集合点清点疏散人数，核对未到人员",
    "Count the people at the assembly point and find who is missing",
    COMMITTEE,
    GRID,
    30,
)
FIRST_AID = T("first_aid", "设置临时医疗救护点", "Set up a first-aid point", CLINIC, GRID, 60, 3)
SEARCH = T("search", "组织搜救被困人员", "Search for and rescue trapped people", FIRE, STAFF, 30, 3)
RESETTLE = T(
    "resettle",
    "安置受灾住户，登记受损情况",
    "House the households affected and record the damage",
    COMMITTEE,
    DIRECTOR,
    240,
    3,
)
CALL_ELDERLY = T(
    "call_elderly",
    "电话或上门问候独居、高龄老人",
    "Call or visit the elderly living alone and the very old",
    COMMITTEE,
    GRID,
    180,
)

TEMPLATES: dict[str, HazardTemplate] = {
    HazardKind.TYPHOON: HazardTemplate(
        "防台风应急预案",
        "Typhoon plan",
        ("台风", "台风预警", "Typhoon"),
        ("flooding",),
        (
            T(
                "secure_objects",
                "排查清理阳台、屋顶和高空悬挂物，加固广告牌和围挡",
                "Clear balconies, roofs and anything hanging high; secure signs and hoardings",
                PROPERTY,
                STAFF,
                120,
            ),
            DRAINS,
            BASEMENTS,
            T(
                "weak_housing",
                "排查危旧房、简易房和工地工棚，劝导人员撤离",
                "Inspect old and makeshift housing and site huts; persuade the people in them to leave",
                COMMITTEE,
                GRID,
                120,
                3,
            ),
            T(
                "power_check",
                "检查配电房、电梯和二次供水设备防水措施",
                "Check the switch rooms, lifts and water pumps against water",
                PROPERTY,
                STAFF,
                120,
                3,
            ),
            T(
                "outdoor_stop",
                "停止户外活动和高空、施工作业",
                "Stop outdoor activities, work at height and construction",
                PROPERTY,
                STAFF,
                60,
                2,
            ),
            TRANSFER,
            SHELTER_OPEN,
        ),
        (
            N(
                "warn_area",
                "area",
                "【台风预警】台风将影响本社区，请关好门窗，收好阳台物品，减少外出，远离广告牌和大树。",
                "Typhoon warning: the typhoon will reach our community. Close your windows, bring in "
                "things from the balcony, stay indoors and keep away from signs and large trees.",
                AREA_CHANNELS,
            ),
            _vulnerable(CALL_BACK_ZH, CALL_BACK_EN),
            EVACUATE,
        ),
        {FacilityKind.COMMUNITY_CENTRE: 3, FacilityKind.SHELTER: 2},
        {"sandbags": 200, "pumps": 2, "water": 100, "food": 50, "torches": 20, "raincoats": 30},
    ),
    HazardKind.FLOOD: HazardTemplate(
        "防汛防内涝应急预案",
        "Flood and waterlogging plan",
        ("暴雨", "暴雨预警", "洪水", "内涝", "Rainstorm", "Flood"),
        ("flooding",),
        (
            DRAINS,
            T(
                "basement_watch",
                "地下车库、地下室派人值守，备好挡水板和水泵",
                "Post a watch at the underground garages and basements, with flood barriers and pumps",
                PROPERTY,
                STAFF,
                60,
            ),
            T(
                "barriers",
                "地下车库入口设置挡水板和沙袋",
                "Put flood barriers and sandbags at the underground garage entrances",
                PROPERTY,
                STAFF,
                60,
                3,
            ),
            T(
                "move_cars",
                "通知车主将地下车库车辆移至高处",
                "Tell car owners to move their cars out of the underground garages to higher ground",
                PROPERTY,
                STAFF,
                60,
                3,
            ),
            T(
                "low_ground",
                "排查低洼区域和一楼住户，必要时协助转移",
                "Check the low ground and the ground-floor homes; help people move if needed",
                COMMITTEE,
                GRID,
                90,
                3,
            ),
            T(
                "pumping",
                "架设水泵排水，守护配电房",
                "Set up pumps to drain the water and protect the switch rooms",
                PROPERTY,
                STAFF,
                90,
                3,
            ),
            T(
                "power_off",
                "积水危及用电安全时切断地下室电源",
                "Cut the power to the basements when water makes it unsafe",
                PROPERTY,
                STAFF,
                60,
                2,
            ),
            TRANSFER,
            SHELTER_OPEN,
        ),
        (
            N(
                "warn_area",
                "area",
                "【暴雨内涝预警】请勿进入地下车库和地下室，车辆请移至高处；低洼处和一楼住户请做好防水，注意用电安全。",
                "Heavy rain and flooding warning: do not go into underground garages or basements; move "
                "your car to higher ground. Homes on low ground and ground floors: keep the water out and "
                "take care with electricity.",
                AREA_CHANNELS,
            ),
            _vulnerable(CALL_BACK_ZH, CALL_BACK_EN),
            EVACUATE,
        ),
        {FacilityKind.COMMUNITY_CENTRE: 3, FacilityKind.SHELTER: 2},
        {"sandbags": 300, "pumps": 3, "raincoats": 30, "water": 100, "food": 50},
    ),
    HazardKind.FIRE: HazardTemplate(
        "消防安全应急预案",
        "Fire plan",
        ("火灾", "森林火险", "Fire"),
        ("fire_smoke",),
        (
            T(
                "first_response",
                "微型消防站队员3分钟内到场，开展初期火灾扑救",
                "Micro fire station crew on the scene within 3 minutes to fight the fire in its first stage",
                FIRE,
                STAFF,
                5,
            ),
            T(
                "call_119",
                "确认已拨打119，派人到路口引导消防车",
                "Make sure 119 has been called; send someone to the road to guide the fire engines",
                PROPERTY,
                STAFF,
                5,
            ),
            EVACUATE_BUILDING,
            T(
                "fire_access",
                "清理消防通道，确保消防车通行",
                "Clear the fire lanes so the fire engines can get through",
                PROPERTY,
                STAFF,
                15,
            ),
            T(
                "gas_power_off",
                "切断起火楼栋燃气和电源",
                "Cut the gas and power to the burning building",
                PROPERTY,
                STAFF,
                15,
                3,
            ),
            HEADCOUNT,
            FIRST_AID,
            RESETTLE,
        ),
        (
            N(
                "warn_area",
                "area",
                "【火情通知】本楼栋发生火情，请用湿毛巾捂住口鼻，沿安全通道向下疏散，切勿乘坐电梯。",
                "Fire: there is a fire in your building. Cover your mouth and nose with a wet cloth and "
                "go down the stairs. Do not use the lift.",
                URGENT_CHANNELS,
            ),
            _vulnerable(
                "社区工作人员和志愿者正在赶来协助您疏散，请待在门口附近，保持电话畅通。",
                "Community staff and volunteers are coming to help you leave. Stay near your door and "
                "keep your phone with you.",
            ),
        ),
        {FacilityKind.PLAZA: 4, FacilityKind.SHELTER: 2},
        {"first_aid": 5, "water": 50, "blankets": 30},
    ),
    HazardKind.GAS_LEAK: HazardTemplate(
        "燃气泄漏应急预案",
        "Gas leak plan",
        ("燃气泄漏", "Gas leak"),
        ("gas",),
        (
            T(
                "no_sparks",
                "设置警戒区，禁止明火、禁止开关电器和使用手机",
                "Cordon off the area: no flames, no switching of appliances, no phones",
                PROPERTY,
                STAFF,
                10,
            ),
            T(
                "call_gas",
                "报告燃气公司抢修，关闭楼栋燃气总阀",
                "Call the gas company's repair crew and close the building's main gas valve",
                PROPERTY,
                STAFF,
                10,
            ),
            EVACUATE_BUILDING,
            T(
                "ventilate",
                "开窗通风（不得开关电器），防止燃气聚集",
                "Open the windows (without switching anything) so the gas does not build up",
                FIRE,
                STAFF,
                20,
            ),
            HEADCOUNT,
            T(
                "check_neighbours",
                "排查相邻楼栋燃气管线和报警器",
                "Check the gas pipes and detectors of the neighbouring buildings",
                PROPERTY,
                STAFF,
                60,
                3,
            ),
            FIRST_AID,
        ),
        (
            N(
                "warn_area",
                "area",
                "【燃气泄漏】请勿开关电器、勿用明火，开窗后立即离开楼栋，到楼下空旷处集合。",
                "Gas leak: do not switch anything on or off and use no flame. Open the windows and leave "
                "the building at once; gather in the open space outside.",
                URGENT_CHANNELS,
            ),
            _vulnerable(
                "社区工作人员正在赶来协助您撤离，请不要开关电器，打开门窗。",
                "Community staff are coming to help you leave. Do not switch anything on or off; open the "
                "windows and doors.",
            ),
        ),
        {FacilityKind.PLAZA: 4},
        {"first_aid": 5},
    ),
    HazardKind.HEAT_WAVE: HazardTemplate(
        "防暑降温应急预案",
        "Heat wave plan",
        ("高温", "高温预警", "Heat Wave", "Heat"),
        (),
        (
            T(
                "cool_room",
                "开放社区避暑纳凉点，延长开放时间",
                "Open the community's cooling room and keep it open longer",
                COMMITTEE,
                DIRECTOR,
                120,
            ),
            CALL_ELDERLY,
            T(
                "outdoor_work",
                "调整户外作业时间，避开午后高温时段",
                "Move outdoor work out of the afternoon heat",
                PROPERTY,
                STAFF,
                120,
            ),
            T(
                "cooling_supplies",
                "准备防暑降温物品，送到独居老人家中",
                "Prepare cooling supplies and take them to the elderly living alone",
                SOCIAL,
                VOLUNTEER,
                240,
                3,
            ),
            T(
                "power_watch",
                "关注用电负荷和二次供水，防止停电停水",
                "Watch the power load and the water pumps to prevent outages",
                PROPERTY,
                STAFF,
                240,
                2,
            ),
        ),
        (
            N(
                "warn_area",
                "area",
                "【高温预警】请减少午后外出，多喝水，老人和儿童注意防暑；社区纳凉点已开放。",
                "Heat warning: stay out of the afternoon sun and drink plenty of water; take care of "
                "older people and children. The community cooling room is open.",
                AREA_CHANNELS,
            ),
            _vulnerable(
                "天气炎热，请多喝水、开空调或到社区纳凉点。社区工作人员会联系您，如有不适请回复本消息。",
                "It is very hot: drink water, use the air conditioning or come to the community cooling "
                "room. Staff will contact you; reply to this message if you feel unwell.",
            ),
        ),
        {FacilityKind.COMMUNITY_CENTRE: 4, FacilityKind.ELDERLY_DAY_CARE: 3},
        {"water": 100, "medicine": 20},
    ),
    HazardKind.COLD_WAVE: HazardTemplate(
        "防寒潮应急预案",
        "Cold wave plan",
        ("寒潮", "寒潮预警", "暴雪", "道路结冰", "Cold Wave", "Snowstorm", "Road Icing"),
        (),
        (
            T("warm_room", "开放社区避寒取暖点", "Open the community's warm room", COMMITTEE, DIRECTOR, 120),
            CALL_ELDERLY,
            T(
                "pipes",
                "对室外水管、水表和消防管道做防冻保温",
                "Insulate the outdoor water pipes, meters and fire mains against frost",
                PROPERTY,
                STAFF,
                180,
            ),
            T(
                "ice",
                "清除主要道路和楼道口积雪结冰，铺设防滑垫",
                "Clear snow and ice from the main paths and entrances; lay anti-slip mats",
                PROPERTY,
                STAFF,
                120,
                3,
            ),
            T(
                "heating_safety",
                "入户检查取暖设备，防范一氧化碳中毒和电气火灾",
                "Check heaters at home against carbon monoxide and electrical fires",
                COMMITTEE,
                GRID,
                240,
                2,
            ),
        ),
        (
            N(
                "warn_area",
                "area",
                "【寒潮预警】请注意防寒保暖，出行当心路面结冰；使用取暖器请注意用电安全，燃煤取暖务必通风。",
                "Cold wave warning: keep warm and watch for ice on the paths. Use heaters safely; if you "
                "burn coal, keep a window open.",
                AREA_CHANNELS,
            ),
            _vulnerable(CALL_BACK_ZH, CALL_BACK_EN),
        ),
        {FacilityKind.COMMUNITY_CENTRE: 4, FacilityKind.ELDERLY_DAY_CARE: 3},
        {"blankets": 50, "water": 50, "food": 30},
    ),
    HazardKind.EPIDEMIC: HazardTemplate(
        "突发传染病疫情防控应急预案",
        "Epidemic plan",
        ("传染病疫情", "突发公共卫生事件", "Epidemic", "Public health emergency"),
        (),
        (
            T(
                "trace",
                "配合疾控和社区卫生服务中心开展流行病学调查",
                "Help the disease control centre and the clinic trace contacts",
                CLINIC,
                GRID,
                240,
            ),
            T(
                "isolating_register",
                "排查登记居家隔离户，建立台账",
                "Find and record the households isolating at home",
                COMMITTEE,
                GRID,
                240,
            ),
            T(
                "deliveries",
                "组织志愿者为隔离户配送生活物资和药品",
                "Have volunteers deliver groceries and medicine to isolating households",
                SOCIAL,
                VOLUNTEER,
                480,
                3,
            ),
            T(
                "disinfect",
                "对电梯、楼道等公共区域每日消毒",
                "Disinfect lifts, stairs and other shared spaces every day",
                PROPERTY,
                STAFF,
                240,
            ),
            T(
                "gatherings",
                "暂停聚集性活动",
                "Suspend gatherings and group activities",
                COMMITTEE,
                DIRECTOR,
                120,
                3,
            ),
            T(
                "daily_checkin",
                "每日联系居家隔离的重点人员",
                "Contact the vulnerable residents who are isolating every day",
                COMMITTEE,
                GRID,
                720,
                3,
            ),
            T(
                "entrances",
                "小区出入口设置登记点",
                "Set up a registration point at the estate's entrances",
                PROPERTY,
                STAFF,
                240,
                2,
            ),
        ),
        (
            N(
                "warn_area",
                "area",
                "【疫情防控】请做好个人防护，出现发热等症状请及时就医并告知社区；暂停聚集性活动。",
                "Epidemic: protect yourself; if you have a fever or other symptoms, see a doctor and tell "
                "the community office. Gatherings are suspended.",
                AREA_CHANNELS,
            ),
            _vulnerable(
                "如您需要代购生活物资或药品，请回复本消息，志愿者会送到您家门口。",
                "If you need groceries or medicine, reply to this message and volunteers will bring them "
                "to your door.",
            ),
        ),
        {FacilityKind.CLINIC: 4, FacilityKind.HEALTH_HUT: 3},
        {"masks": 500, "medicine": 30, "food": 50},
    ),
    HazardKind.CROWD: HazardTemplate(
        "人员密集场所突发事件应急预案",
        "Crowd incident plan",
        ("人员聚集", "Crowd"),
        ("crowding",),
        (
            T(
                "crowd_flow",
                "现场疏导人流，设置单向通道",
                "Direct the crowd on the spot with one-way routes",
                PROPERTY,
                STAFF,
                15,
            ),
            T(
                "stop_event",
                "暂停活动，分批有序疏散",
                "Stop the event and let people leave in turns",
                COMMITTEE,
                DIRECTOR,
                15,
            ),
            T(
                "call_police",
                "报告派出所请求协助维持秩序",
                "Ask the police station for help keeping order",
                POLICE,
                DIRECTOR,
                15,
            ),
            T("first_aid", "设置临时医疗救护点", "Set up a first-aid point", CLINIC, GRID, 30),
            T(
                "lost_people",
                "设置走失人员登记和寻找点",
                "Set up a point for reporting and finding lost people",
                SOCIAL,
                VOLUNTEER,
                60,
                3,
            ),
        ),
        (
            N(
                "warn_area",
                "area",
                "【安全提示】现场人员较多，请听从工作人员指挥，有序离开，切勿拥挤推搡。",
                "Safety notice: the place is crowded. Follow the staff's instructions and leave calmly, "
                "without pushing.",
                AREA_CHANNELS,
            ),
        ),
        {FacilityKind.PLAZA: 4},
        {"first_aid": 5, "water": 50},
    ),
    HazardKind.OUTAGE: HazardTemplate(
        "停电停水应急预案",
        "Power and water outage plan",
        ("停电", "停水", "Power outage", "Water outage"),
        (),
        (
            T(
                "lift_rescue",
                "排查电梯困人情况，联系维保单位救援",
                "Check the lifts for trapped people; call the lift company to free them",
                PROPERTY,
                STAFF,
                15,
            ),
            T(
                "utility_report",
                "报告供电、供水公司，了解恢复时间",
                "Report to the power or water company and learn when supply returns",
                PROPERTY,
                STAFF,
                30,
            ),
            T(
                "medical_devices",
                "联系使用制氧机等用电医疗设备的居民",
                "Contact the residents who rely on powered medical devices such as oxygen concentrators",
                COMMITTEE,
                GRID,
                60,
            ),
            T(
                "generator",
                "启动备用发电机，保障消防和二次供水",
                "Start the standby generator for the fire pumps and water pumps",
                PROPERTY,
                STAFF,
                60,
                3,
            ),
            T(
                "water_delivery",
                "为高层住户和行动不便居民送水",
                "Bring water to upper-floor homes and to those who cannot walk well",
                SOCIAL,
                VOLUNTEER,
                180,
                3,
            ),
        ),
        (
            N(
                "warn_area",
                "area",
                "【停电停水通知】本区域暂时停电或停水，正在抢修。请勿乘坐电梯，储备饮用水，注意用火安全。",
                "Outage: power or water is off in your area and is being repaired. Do not use the lifts, "
                "keep drinking water and take care with candles and flames.",
                AREA_CHANNELS,
            ),
            _vulnerable(CALL_BACK_ZH, CALL_BACK_EN),
        ),
        {FacilityKind.COMMUNITY_CENTRE: 3},
        {"water": 200, "generators": 1, "torches": 30},
    ),
    HazardKind.EARTHQUAKE: HazardTemplate(
        "地震应急预案",
        "Earthquake plan",
        ("地震", "Earthquake"),
        (),
        (
            T(
                "open_ground",
                "组织居民就近疏散到空旷场地",
                "Lead residents to the nearest open ground",
                COMMITTEE,
                GRID,
                15,
            ),
            T(
                "gas_power_off",
                "关闭燃气总阀和电源，防止次生灾害",
                "Close the main gas valves and cut the power to prevent fires",
                PROPERTY,
                STAFF,
                30,
            ),
            SEARCH,
            HEADCOUNT,
            T(
                "building_check",
                "排查房屋受损情况，危险楼栋禁止返回",
                "Inspect the buildings for damage; nobody goes back into an unsafe one",
                PROPERTY,
                STAFF,
                120,
            ),
            FIRST_AID,
            T(
                "shelter_open",
                "开放应急避难场所，搭建帐篷，发放饮用水和食品",
                "Open the emergency shelter, put up tents, hand out water and food",
                COMMITTEE,
                DIRECTOR,
                120,
                3,
            ),
        ),
        (
            N(
                "warn_area",
                "area",
                "【地震】请保持冷静，远离建筑物和高压线，到空旷场地避险，余震期间勿返回室内。",
                "Earthquake: stay calm, keep away from buildings and power lines, go to open ground and "
                "do not go back inside during aftershocks.",
                URGENT_CHANNELS,
            ),
            _vulnerable(
                "社区工作人员和志愿者正在逐户查看，请告知您的位置和是否需要帮助。",
                "Community staff and volunteers are checking every home: tell us where you are and "
                "whether you need help.",
            ),
        ),
        {FacilityKind.PLAZA: 4, FacilityKind.SPORTS_FIELD: 3, FacilityKind.SHELTER: 3},
        {"camp_beds": 50, "water": 200, "food": 100, "first_aid": 10, "blankets": 50},
    ),
    HazardKind.COLLAPSE: HazardTemplate(
        "房屋倒塌应急预案",
        "Building collapse plan",
        ("房屋倒塌", "Building collapse"),
        (),
        (
            T(
                "cordon",
                "设置警戒区域，禁止人员靠近",
                "Cordon off the area and keep people away",
                PROPERTY,
                STAFF,
                15,
            ),
            T(
                "call_rescue",
                "报告119、120和住建部门",
                "Call 119, 120 and the housing authority",
                COMMITTEE,
                DIRECTOR,
                10,
            ),
            EVACUATE_BUILDING,
            SEARCH,
            T(
                "adjacent_check",
                "排查相邻建筑安全",
                "Inspect the neighbouring buildings",
                PROPERTY,
                STAFF,
                120,
            ),
            HEADCOUNT,
            RESETTLE,
        ),
        (
            N(
                "warn_area",
                "area",
                "【紧急通知】附近建筑发生倒塌，请立即远离警戒区域，听从现场人员指挥。",
                "Emergency: a building nearby has collapsed. Keep away from the cordoned area and follow "
                "the staff on the spot.",
                URGENT_CHANNELS,
            ),
            _vulnerable(CALL_BACK_ZH, CALL_BACK_EN),
        ),
        {FacilityKind.PLAZA: 4, FacilityKind.SHELTER: 3},
        {"first_aid": 5, "water": 50, "blankets": 20},
    ),
}


def _due(minutes: int, level: int) -> int:
    return max(5, int(round(minutes * DUE_FACTOR[level]))) if minutes else 0


def plan_titles(hazard: str, level: int) -> tuple[str, str]:
    template = TEMPLATES[hazard]
    return f"{template.plan_zh}（{LEVEL_ZH[level]}响应）", f"{template.plan_en} — {LEVEL_EN[level]}"


def build_body(hazard: str, level: int) -> dict:
    """The plan body of ``hazard`` at ``level`` (1 = I, red … 4 = IV, blue), as :mod:`banyan.emergency.plans`
    checks it."""
    if level not in Level.values:
        raise ValueError(f"unknown level {level!r}")
    template = TEMPLATES[hazard]
    lead_street = level == Level.I
    return {
        "triggers": {
            "manual": True,
            "cap": {"events": list(template.cap_events), "min_severity": MIN_SEVERITY[level]},
            "alert_rules": list(template.alert_rules),
        },
        "lead": {
            "organisation_kind": STREET if lead_street else COMMITTEE,
            "role": Role.STREET_OFFICER if lead_street else DIRECTOR,
        },
        "tasks": [
            {
                "key": task.key,
                "title_zh": task.title_zh,
                "title_en": task.title_en,
                "owner_kind": str(task.owner_kind),
                "owner_role": str(task.owner_role),
                "due_minutes": _due(task.due_minutes, level),
            }
            for task in (*COMMON_TASKS, *template.tasks)
            if level <= task.from_level
        ],
        "notices": [
            {
                "key": notice.key,
                "audience": notice.audience,
                "text_zh": notice.text_zh,
                "text_en": notice.text_en,
                "channels": list(notice.channels),
            }
            for notice in template.notices
            if level <= notice.from_level
        ],
        "facilities": [str(kind) for kind, from_level in template.facilities.items() if level <= from_level],
        "supplies": [
            {"kind": kind, "quantity": base * SUPPLY_FACTOR[level]}
            for kind, base in template.supplies.items()
        ],
        "roll_call": {
            "wait_minutes": ROLL_CALL_WAIT[level],
            "vulnerable_wait_minutes": VULNERABLE_WAIT[level],
        },
        "call_up": {"hours": CALL_UP_HOURS[level]} if level in CALL_UP_HOURS else None,
    }
