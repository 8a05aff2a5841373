"""The incident catalogue and default SLA deadlines that a new installation starts with (a data
migration loads them; directors may add categories and change deadlines afterwards)."""

from __future__ import annotations

from banyan.response.flow import DEFAULT_DEADLINES

# code, Chinese name, English name, default grade, skill, alert metrics that map to it
CATEGORIES = [
    (
        "fire_smoke",
        "火情烟雾",
        "Fire / smoke",
        "red",
        "fire",
        ["smoke_alarm", "smoke_obscuration", "temperature_c"],
    ),
    ("gas", "燃气泄漏", "Gas leak", "red", "gas", ["gas_lel"]),
    ("flooding", "积水内涝", "Flooding", "orange", "flooding", ["water_level_cm"]),
    ("fall_medical", "跌倒急症", "Fall / medical", "red", "first_aid", ["fall", "heart_rate", "spo2", "sos"]),
    (
        "wellness_check",
        "独居老人探视",
        "Elderly wellness check",
        "yellow",
        "care",
        ["water_m3", "flow_m3h", "door_open"],
    ),
    ("crowding", "人员聚集", "Crowding", "orange", "crowd", ["person_count"]),
    ("security", "治安安全", "Security", "orange", "security", []),
    ("repairs", "设施报修", "Repairs", "blue", "repairs", []),
    ("device_fault", "设备故障离线", "Device fault / offline", "blue", "repairs", []),
    ("sanitation", "环境卫生", "Environment / sanitation", "blue", "", ["pm25", "co2"]),
    ("noise", "噪音扰民", "Noise", "blue", "", []),
    ("dispute", "邻里纠纷", "Neighbour dispute", "yellow", "mediation", []),
    ("other", "其他", "Other", "blue", "", []),
]


def load(apps, schema_editor) -> None:
    Category = apps.get_model("response", "Category")
    SlaPolicy = apps.get_model("response", "SlaPolicy")
    for position, (code, zh, en, grade, skill, metrics) in enumerate(CATEGORIES):
        Category.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "default_grade": grade,
                "skill": skill,
                "alert_metrics": metrics,
                "position": position,
            },
        )
    for grade, deadlines in DEFAULT_DEADLINES.items():
        SlaPolicy.objects.get_or_create(
            category=None,
            grade=grade,
            defaults={
                "acknowledge_s": int(deadlines.acknowledge_s),
                "arrive_s": int(deadlines.arrive_s),
                "resolve_s": int(deadlines.resolve_s),
            },
        )
