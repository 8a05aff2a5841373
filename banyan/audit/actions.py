"""Every action the audit log records, by app.

An entry's ``action`` column holds the member's value (``"resident.reveal"``): the values are in
existing databases, the README and the tests, so a value is never renamed — a new action is a new
member. ``record`` refuses an action that is not a member (``ValueError: unknown audit action …``)
before anything is written. Plain Python: this module imports nothing from Banyan, so every app may
use it.
"""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # --- audit: the chain itself ---------------------------------------------------------------
    AUDIT_CHAIN = "audit.chain"  # entry 1 of a new chain, with a random nonce (the chain's id)
    AUDIT_ANCHOR = "audit.anchor"  # `banyan audit anchor` pointed the anchor file at this chain
    AUDIT_REKEY = "audit.rekey"  # the chain re-hashed under the current audit key
    AUDIT_EXPORT = "audit.export"  # entries of the log downloaded from the audit page (its filters)

    # --- places ----------------------------------------------------------------------------------
    REGION_CREATE = "region.create"
    PLACES_IMPORT = "places.import"  # a community's places and paths from a file (`banyan import places`)
    UNITS_IMPORT = "units.import"  # flats from a flat list, or generated (`banyan import units`)
    GRIDS_UPDATE = "grids.update"  # grids drawn, proposed or changed, and buildings assigned to them

    # --- people: accounts, signing in, second factor ---------------------------------------------
    ACCOUNT_CREATE = "account.create"  # a community's gateway account (`banyan token gateway`)
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    LOGIN_FAILED = "login.failed"  # a wrong password or an unknown account
    LOGIN_LOCKED = "login.locked"  # the attempt that locked an account or an address
    LOGIN_SUCCEEDED = "login.succeeded"  # the right password (the second factor follows)
    LOGIN_UNLOCKED = "login.unlocked"  # an administrator ended a lockout early
    OTP_ENROLLED = "otp.enrolled"
    OTP_FAILED = "otp.failed"  # a wrong code (enrolment, sign-in or step-up)
    OTP_VERIFIED = "otp.verified"
    OTP_RECOVERY_USED = "otp.recovery_used"  # a recovery code used instead of a TOTP code
    OTP_RECOVERY_CODES = "otp.recovery_codes"  # new recovery codes; the old ones stop working
    OTP_RESET = "otp.reset"  # `banyan auth reset-otp` removed an account's devices
    USER_CREATE = "user.create"  # an account made on the accounts page (its role and region)
    USER_UPDATE = "user.update"  # an account's name, role or region changed
    USER_DEACTIVATE = "user.deactivate"  # it may no longer sign in; its sessions and tokens stop
    USER_REACTIVATE = "user.reactivate"
    USER_PASSWORD = "user.password"  # an administrator gave it a new password (shown once, kept nowhere)

    # --- people: residents, households, care, consent ------------------------------------------
    RESIDENT_CREATE = "resident.create"
    RESIDENT_UPDATE = "resident.update"
    RESIDENT_REVEAL = "resident.reveal"  # one field shown in clear, with its purpose
    RESIDENT_LOOKUP = "resident.lookup"  # found by ID number or phone, with its purpose
    RESIDENT_EXPORT = "resident.export"  # a resident took a copy of their own data
    HOUSEHOLD_CREATE = "household.create"
    HOUSEHOLD_UPDATE = "household.update"
    CARE_PROFILE_CREATE = "care_profile.create"
    CARE_PROFILE_UPDATE = "care_profile.update"
    CONSENT_GRANT = "consent.grant"
    CONSENT_WITHDRAW = "consent.withdraw"
    CORRECTION_REQUEST = "correction.request"  # a resident asked for a correction of their data
    CORRECTION_ACCEPT = "correction.accept"
    CORRECTION_REJECT = "correction.reject"
    LEDGER_IMPORT = "ledger.import"  # a CSV/XLSX ledger loaded
    LEDGER_EXPORT = "ledger.export"  # a grid's ledger exported
    VAULT_REKEY = "vault.rekey"  # personal data re-encrypted and blind indexes recomputed

    # --- notify ----------------------------------------------------------------------------------
    NOTIFY_ACKNOWLEDGE = "notify.acknowledge"  # a message acknowledged by its recipient
    NOTIFY_PREFERENCE = "notify.preference"  # a person's channels or phone for messages changed

    # --- sensing ---------------------------------------------------------------------------------
    DEVICE_CREATE = "device.create"
    DEVICE_UPDATE = "device.update"
    DEVICES_IMPORT = "devices.import"  # devices loaded from a CSV/XLSX file (`banyan import devices`)
    DEVICE_MQTT_SECRET = "device.mqtt_secret"  # a device's broker secret issued
    DEVICE_MQTT_SECRET_REVOKE = "device.mqtt_secret_revoke"

    # --- warning ---------------------------------------------------------------------------------
    RULE_CREATE = "rule.create"
    RULE_UPDATE = "rule.update"
    ALERT_RAISE = "alert.raise"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    ALERT_RESOLVE = "alert.resolve"
    ALERT_CLEAR = "alert.clear"  # cleared automatically: the readings are back within the rule
    ALERT_ESCALATE = "alert.escalate"  # not acknowledged in time: the next level was told
    OFFICIAL_WARNING_IMPORT = "official_warning.import"  # an official (CAP) warning imported

    # --- response: incidents (one member per move of response/flow.py, "incident.<move>") --------
    MATRIX_SET = "matrix.set"  # a cell of the responsibility matrix set
    INCIDENT_OPEN = "incident.open"
    INCIDENT_ASSIGN = "incident.assign"
    INCIDENT_ACCEPT = "incident.accept"
    INCIDENT_DECLINE = "incident.decline"
    INCIDENT_ON_SCENE = "incident.on_scene"
    INCIDENT_RESOLVE = "incident.resolve"
    INCIDENT_CLOSE = "incident.close"
    INCIDENT_CANCEL = "incident.cancel"
    INCIDENT_DUPLICATE = "incident.duplicate"
    INCIDENT_REOPEN = "incident.reopen"
    INCIDENT_HAND_OVER = "incident.hand_over"  # to another accountable body
    INCIDENT_ESCALATE = "incident.escalate"  # its SLA ran out: the next level was told
    INCIDENT_BACKUP = "incident.backup"  # the assignee asked nearby colleagues for help

    # --- response: residents' reports, Open311 ---------------------------------------------------
    REPORT_SUBMIT = "report.submit"
    REPORT_RATE = "report.rate"  # the reporter rated how the incident was handled
    OPEN311_KEY_CREATE = "open311_key.create"
    OPEN311_KEY_REVOKE = "open311_key.revoke"

    # --- care: plans and check-ins ------------------------------------------------------------
    CHECK_IN_RECORD = "check_in.record"  # a resident's "I'm fine" or "need help", by whom and how
    CARE_PLAN_CREATE = "care_plan.create"
    CARE_PLAN_UPDATE = "care_plan.update"
    CARER_LINK = "carer.link"  # a family carer's record joined to the account they sign in with
    PROXY_GRANT = "proxy.grant"  # the resident (or guardian) let a carer act for them, within scopes
    PROXY_WITHDRAW = "proxy.withdraw"
    CARE_VISIT_RECORD = "care_visit.record"  # what the one sent on a wellness visit found
    CARE_VISIT_REQUEST = "care_visit.request"  # a staff member sent someone from the care board

    # --- emergency: the hazard register and plans ---------------------------------------------------
    HAZARD_INSTALL = "hazard.install"  # a community's register made (the hazards it lacked, with defaults)
    HAZARD_UPDATE = "hazard.update"  # a hazard's likelihood, impact or notes changed
    HAZARD_REVIEW = "hazard.review"  # a hazard reviewed (its exposure recomputed)
    PLAN_INSTALL = "plan.install"  # a community's plans made from the shipped templates
    PLAN_VERSION = "plan.version"  # a new version of a plan saved (the old one stays)

    # --- emergency: warnings and notices to residents ---------------------------------------------
    RELAY_WARNING = "relay.warning"  # an official warning relayed to a community's residents, as received
    RELAY_NOTICE = "relay.notice"  # a community notice sent for an emergency
    RELAY_DOOR_KNOCK = "relay.door_knock"  # door-knocking tasks for those a notice did not reach
    RELAY_SUBSCRIPTION = "relay.subscription"  # a resident's warning subscription changed

    # --- emergency: activation, the board, tasks -------------------------------------------------
    EMERGENCY_PROPOSE = "emergency.propose"  # a government warning or a local alert proposed one
    EMERGENCY_ACTIVATE = "emergency.activate"  # opened from a plan, or a proposed one confirmed
    EMERGENCY_DISMISS = "emergency.dismiss"  # a proposed one turned down
    EMERGENCY_LEVEL = "emergency.level"  # its level changed
    EMERGENCY_AREA = "emergency.area"  # its affected grids or buildings changed
    EMERGENCY_STAND_DOWN = "emergency.stand_down"  # ended, with the retention of its data
    EMERGENCY_CALL_UP = "emergency.call_up"  # the community's volunteers put on duty by the plan
    EMERGENCY_TASK_ASSIGN = "emergency_task.assign"
    EMERGENCY_TASK_DONE = "emergency_task.done"
    EMERGENCY_LESSON = "emergency.lesson"  # a lesson of the after-action review added or done
    EMERGENCY_RECOVERY_TASK = "emergency_task.recovery"  # a recovery task added after stand-down
    EMERGENCY_PURGE = "emergency.purge"  # what it gathered about people purged (counts)

    # --- emergency: roll call ----------------------------------------------------------------------
    ROLL_CALL_START = "roll_call.start"  # every household of the area asked "are you safe?"
    ROLL_CALL_ANSWER = "roll_call.answer"  # a household's "safe" or "need help" (tap, SMS, key, staff)
    ROLL_CALL_VISIT = "roll_call.visit"  # no answer after the wait: a door-knocking visit sent on foot
    ROLL_CALL_ACCOUNTED = "roll_call.accounted"  # the visit's incident resolved: the household accounted for

    # --- emergency: shelters and supplies ----------------------------------------------------------
    SHELTER_CREATE = "shelter.create"  # a facility made a shelter, with its capacity
    SHELTER_OPEN = "shelter.open"  # opened for an emergency
    SHELTER_CLOSE = "shelter.close"
    SHELTER_CHECK_IN = "shelter.check_in"  # a resident checked in (subject: the resident; by name or ID)
    SHELTER_CHECK_OUT = "shelter.check_out"
    STOCK_CREATE = "stock.create"  # a stock of a supply at a place
    STOCK_MOVE = "stock.move"  # received, reserved, distributed (to a household), returned, counted

    # --- emergency: epidemic mode ------------------------------------------------------------------
    EPIDEMIC_STATUS = "epidemic.status"  # a household's status set (isolating, needs deliveries, cleared)
    EPIDEMIC_DELIVERY = "epidemic.delivery"  # a delivery asked for: its on-foot incident and task
    EPIDEMIC_DELIVERY_DONE = "epidemic.delivery_done"  # its incident ended: delivered or cancelled
    EPIDEMIC_CHECKIN = "epidemic.checkin"  # a daily check-in answered (OK, need help) or missed

    # --- community: the time bank ------------------------------------------------------------------
    TIMEBANK_ACCOUNT_OPEN = "timebank.account_open"  # a member's, the pool's or the issuance account opened
    TIMEBANK_ISSUE = "timebank.issue"  # hours issued for confirmed service (subject: the transaction)
    TIMEBANK_TRANSFER = "timebank.transfer"  # hours moved by the owner of the account they leave
    TIMEBANK_ADMIN_TRANSFER = "timebank.admin_transfer"  # moved by an administrator (or paid from the pool)
    TIMEBANK_DONATE = "timebank.donate"  # hours given to a member of the owner's household
    TIMEBANK_REVERSE = "timebank.reverse"  # a compensating transaction

    # --- sim -------------------------------------------------------------------------------------
    SIM_SEED = "sim.seed"  # `banyan seed` wrote a synthetic community

    @classmethod
    def _missing_(cls, value: object) -> AuditAction:
        # AuditAction("x.y") with an unknown value: this message, not enum's "'x.y' is not a valid …".
        raise ValueError(f"unknown audit action {value!r}: add it to banyan/audit/actions.py")
