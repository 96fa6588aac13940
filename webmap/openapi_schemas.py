"""The data of the OpenAPI document (``webmap.openapi``): the schemas of request and
response bodies, and the shared parameters (the issue filters among them)."""


def string(description, **more):
    return {"type": "string", "description": description, **more}


def nullable(kind, description):
    return {"type": kind, "nullable": True, "description": description}


IDEMPOTENCY_FIELD = {"type": "string", "maxLength": 200,
                     "description": "The Idempotency-Key header's key, for a form that cannot set headers."}


SCHEMAS = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": string("Why the request was refused, in the user's language "
                                              "(Chinese by default, English with lang=en).")}},
    "Created": {"type": "object", "properties": {"id": {"type": "integer"}}},
    "IssueCreate": {
        "type": "object", "required": ["title", "category", "channel"],
        "description": "A new issue (诉求), located by lon/lat or by compound_id (the compound's "
                       "interior point). PostGIS fills community, grid and compound from the point; "
                       "outside 中心路街道 is a 400.",
        "properties": {
            "title": string("1–100 characters.", maxLength=100),
            "description": string("At most 2000 characters.", maxLength=2000),
            "category": string("A category code from /api/choices."),
            "channel": string("A channel code from /api/choices."),
            "lon": {"type": "number", "description": "WGS84 longitude (unless compound_id)."},
            "lat": {"type": "number", "description": "WGS84 latitude (unless compound_id)."},
            "crs": string("gcj02 when lon/lat were picked on a Gaode basemap.", enum=["gcj02"]),
            "compound_id": {"type": "integer"},
            "reporter_name": string("Personal data: stored apart, shown only inside the area."),
            "reporter_phone": string("Mobile (11 digits) or landline such as 0371-12345678."),
            "idempotency_key": IDEMPOTENCY_FIELD,
        }},
    "IssueCreateMultipart": {
        "allOf": ["IssueCreate", {"type": "object", "properties": {
            "photo": {"type": "string", "format": "binary",
                      "description": "JPEG or PNG, at most 5 MB; re-encoded without EXIF/GPS."}}}]},
    "IssueAdvance": {
        "type": "object", "required": ["to", "version"],
        "description": "One step forward (reported → topic → notice → consult → implement → publish "
                       "→ feedback → closed), or an end as rejected/merged with a reason.",
        "properties": {
            "to": string("The next stage, or rejected / merged.",
                          enum=["topic", "notice", "consult", "implement", "publish", "feedback", "closed",
                                "rejected", "merged"]),
            "version": {"type": "integer", "description": "The issue's version as read; a stale one is 409."},
            "note": {"type": "string"},
            "meeting_id": {"type": "integer", "description": "Required to go to consult."},
            "result": string("Required to go to publish (公示结果)."),
            "satisfaction": string("Required to go to feedback.",
                                    enum=["satisfied", "mostly_satisfied", "unsatisfied"]),
            "reason": string("Required for rejected and merged."),
            "merged_into": {"type": "integer", "description": "Required for merged."},
        }},
    "Advanced": {"type": "object", "properties": {
        "id": {"type": "integer"}, "stage": {"type": "string"}, "version": {"type": "integer"}}},
    "Note": {"type": "object", "properties": {
        "note": string("The comment (required for comment; optional for claim).")}},
    "Noted": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["claim", "comment"]}}},
    "Issue": {"type": "object", "description": "An issue with its reporter and history (inside the "
                                               "viewer's area only)."},
    "ContactEdit": {
        "type": "object", "required": ["version"],
        "description": "Fields of a 三长 contact to change; the others stay.",
        "properties": {
            "version": {"type": "integer", "description": "As read; a stale one is 409."},
            "name": string("1–30 characters.", maxLength=30),
            "phone": string("Mobile (11 digits) or landline such as 0371-12345678."),
            "appointed_on": string("YYYY-MM-DD", format="date"),
            "certificate_no": nullable("string", "聘书编号"),
        }},
    "ContactNew": {
        "type": "object", "required": ["name", "phone"],
        "properties": {
            "name": string("1–30 characters.", maxLength=30),
            "phone": {"type": "string"},
            "appointed_on": {"type": "string", "format": "date"},
            "certificate_no": {"type": "string"},
            "role": string("For POST /api/contacts.", enum=["compound_head", "building_head", "unit_head"]),
            "compound_id": {"type": "integer", "description": "For POST /api/contacts."},
            "building_id": nullable("integer", "For POST /api/contacts."),
            "unit_id": nullable("integer", "For POST /api/contacts."),
            "version": {"type": "integer", "description": "For replace: the replaced contact's version."},
        }},
    "Version": {"type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}}},
    "Contact": {"type": "object", "description": "A 三长 contact with its version."},
    "Meeting": {
        "type": "object", "required": ["venue_id", "platform", "held_on", "title", "attendee_count"],
        "properties": {
            "venue_id": {"type": "integer"},
            "platform": string("One of the platforms the venue serves.",
                                enum=["bench_talk", "cppcc_consult", "npc_station", "residents_council"]),
            "held_on": {"type": "string", "format": "date"},
            "title": {"type": "string"},
            "attendee_count": {"type": "integer", "minimum": 0},
            "attendee_kinds": {"type": "array", "items": {"type": "string", "enum": [
                "party_member", "resident_rep", "heads", "volunteer", "npc_deputy", "cppcc_member"]}},
            "minutes": {"type": "string"},
            "issue_ids": {"type": "array", "items": {"type": "integer"}},
        }},
    "Place": {"type": "object", "required": ["kind", "id", "name", "bounds"], "properties": {
        "kind": string("What the place is.", enum=["district", "subdistrict", "community", "compound", "grid"]),
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "parent": nullable("string", "The district, subdistrict or community it lies in; null for a district."),
        "bounds": {"type": "array", "minItems": 2, "maxItems": 2,
                   "description": "[[south, west], [north, east]] in WGS84, as Leaflet's fitBounds takes it.",
                   "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}}}},
    "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"type": "object"}}}},
    "Open311Error": {"type": "array", "items": {"type": "object", "required": ["code", "description"],
                                                "properties": {"code": {"type": "integer"},
                                                               "description": {"type": "string"}}}},
    "Open311Service": {"type": "object", "properties": {
        "service_code": string("The category code."),
        "service_name": {"type": "string"}, "description": {"type": "string"},
        "metadata": {"type": "boolean", "enum": [False]},
        "type": {"type": "string", "enum": ["realtime"]},
        "keywords": string("Comma-separated."), "group": {"type": "string"}}},
    "Open311Request": {"type": "object", "properties": {
        "service_request_id": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": nullable("string", "The published result, or why the issue was rejected or merged."),
        "service_name": {"type": "string"}, "service_code": {"type": "string"},
        "description": nullable("string", "Public once the issue is a topic; identifying numbers "
                                           "blanked. Null before that."),
        "agency_responsible": string("The community (社区)."),
        "service_notice": string("The current stage."),
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": nullable("string", "When the current stage is due (open issues)."),
        "address": nullable("string", "Community and compound."),
        "address_id": nullable("string", "Always null."), "zipcode": nullable("string", "Always null."),
        "lat": {"type": "number"}, "long": {"type": "number"},
        "media_url": nullable("string", "Always null.")}},
    "Open311Create": {
        "type": "object", "required": ["api_key", "service_code", "lat", "long"],
        "properties": {
            "api_key": string("From `flask --app app apikeys add NAME`."),
            "service_code": {"type": "string"},
            "lat": {"type": "number"}, "long": {"type": "number"},
            "description": {"type": "string", "maxLength": 2000},
            "first_name": string("Personal data: stored, never returned."),
            "last_name": string("Personal data: stored, never returned."),
            "phone": string("Personal data: stored, never returned."),
            "channel": string("Extension: the channel code (default e_wangtong, 中中e网通)."),
            "jurisdiction_id": string("Accepted and ignored (one jurisdiction)."),
            "email": string("Accepted and not stored."),
            "media_url": string("Refused: photos by URL are not supported (400)."),
            "address_string": string("Not enough on its own: lat/long are required (no geocoding)."),
            "idempotency_key": IDEMPOTENCY_FIELD,
        }},
    "Open311Created": {"type": "array", "items": {"type": "object", "properties": {
        "service_request_id": {"type": "string"}, "service_notice": {"type": "string"},
        "account_id": nullable("string", "Always null.")}}},
}

ISSUE_FILTERS = {
    "from": ("date", "Issues reported on or after this day."),
    "to": ("date", "Issues reported on or before this day."),
    "month": ("string", "YYYY-MM; overrides from/to."),
    "category": ("string", "A category code."), "channel": ("string", "A channel code."),
    "stage": ("string", "open, or a stage code."),
    "area": ("string", "city, district:ID, subdistrict:ID or community:ID; by default the viewer's area."),
    "compound": ("integer", "A compound id."), "platform": ("string", "A consultation platform code."),
    "overdue": ("string", "0 or 1."), "livelihood": ("string", "0 or 1."), "on_time": ("string", "0 or 1."),
}

PARAMETERS = {
    "bbox": ("query", {"schema": {"type": "string"}, "example": "113.27,34.79,113.31,34.83",
                       "description": "minx,miny,maxx,maxy in WGS84; at most 0.5° each way "
                                      "(0.05° for buildings, where it is required)."}),
    "crs": ("query", {"schema": {"type": "string", "enum": ["gcj02"]},
                      "description": "gcj02: coordinates for (or from) a Gaode basemap."}),
    "as_of": ("query", {"schema": {"type": "string", "format": "date"},
                        "description": "Replay the state at the end of this day (Beijing time)."}),
    "lang": ("query", {"schema": {"type": "string", "enum": ["zh_CN", "en"]},
                       "description": "Language of names and messages; remembered in a cookie."}),
    "fmt": ("path", {"schema": {"type": "string", "enum": ["json"]},
                        "description": "Only json; any other format is a 400."}),
    **{f"filter_{name}": ("query", {"name": name, "schema": {"type": "string", "format": "date"} if kind == "date"
                                    else {"type": kind}, "description": text})
       for name, (kind, text) in ISSUE_FILTERS.items()},
    "idempotency_key": ("header", {"name": "Idempotency-Key", "schema": {"type": "string", "maxLength": 200},
                                   "description": "A key the client makes once per request (a UUID) and "
                                                  "sends again on a retry: the issue is stored once, and the "
                                                  "retry answers 200 with the same id. The same key with "
                                                  "another request is a 422."}),
}

# Patrols (巡查打卡): webmap/patrols.py.
SCHEMAS.update({
    "PatrolCreate": {
        "type": "object", "required": ["compound_id"],
        "description": "A grid leader's visit to a compound (grid leaders and community staff, inside "
                       "their area). A position farther than PATROL_MAX_DISTANCE_M (default 200 m) from "
                       "the compound is a 422 with the distance, unless placed_manually. Either "
                       "nothing_found or issue_ids/issue_keys. Header Idempotency-Key: a retry with the "
                       "same key returns the stored patrol (200); the same key with another body is a 422.",
        "properties": {
            "compound_id": {"type": "integer"},
            "lon": {"type": "number", "description": "WGS84 longitude of the phone (GPS)."},
            "lat": {"type": "number", "description": "WGS84 latitude of the phone (GPS)."},
            "crs": string("gcj02 when lon/lat were picked on a Gaode basemap.", enum=["gcj02"]),
            "placed_manually": {"type": "boolean", "description": "Location denied: the point was tapped "
                                "on the map (or is absent); no distance check, flagged."},
            "nothing_found": {"type": "boolean"},
            "issue_ids": {"type": "array", "items": {"type": "integer"},
                          "description": "Issues recorded during the visit, inside the area (in a form: "
                                         "comma-separated)."},
            "issue_keys": {"type": "array", "items": {"type": "string"},
                           "description": "Issues recorded during the visit offline, by the Idempotency-Key "
                                          "of their record (the phone knows no id yet); each must name an "
                                          "issue already stored inside the area, else a 400 naming the key "
                                          "(in a form: comma-separated)."},
            "note": string("At most 2000 characters.", maxLength=2000),
            "visited_at": string("When the visit was made (recorded offline), ISO 8601 with offset, "
                                  "within the last 7 days; default now.", format="date-time"),
            "idempotency_key": string("Instead of the Idempotency-Key header."),
        }},
    "PatrolCreateMultipart": {
        "allOf": ["PatrolCreate", {"type": "object", "properties": {
            "photo": {"type": "string", "format": "binary",
                      "description": "JPEG or PNG, at most 5 MB; re-encoded without EXIF/GPS."}}}]},
    "Patrol": {"type": "object", "properties": {
        "id": {"type": "integer"}, "compound_id": {"type": "integer"}, "compound": {"type": "string"},
        "actor": {"type": "string"}, "visited_at": string("YYYY-MM-DD HH:MM, Beijing time."),
        "lon": nullable("number", "WGS84"), "lat": nullable("number", "WGS84"),
        "distance_m": nullable("integer", "Metres from the position to the compound (0 inside)."),
        "placed_manually": {"type": "boolean"}, "nothing_found": {"type": "boolean"},
        "note": {"type": "string"}, "has_photo": {"type": "boolean"},
        "issue_ids": {"type": "array", "items": {"type": "integer"}}}},
})
