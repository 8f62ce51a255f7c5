#!/usr/bin/env python3
"""Generate mongrate's fixtures deterministically (needs PyYAML; output is committed).

    python3 scripts/gen_fixtures.py

Writes:
  fixtures/valid/<db>/<collection>.json     valid documents: the seeds' own example documents
                                            where a seed gives one, then generated ones
  fixtures/invalid/<db>/<collection>.json   [{ "breaks": "<rule>: <field>", "document": {...} }],
                                            each document breaking exactly one rule
  fixtures/promptforge_live/data/promptforge/*.json
                                            the live PromptForge database of seed 000: 161 documents
Rules are named as in `$jsonSchema`: required, bsonType, enum, pattern, minLength, maxLength,
minimum, maximum. Re-running produces byte-identical files.
"""

import copy
import json
import os
import random
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "schemas")
FIX = os.path.join(ROOT, "fixtures")


def date(s):
    return {"$date": s}


def oid(h):
    return {"$oid": h}


def load_schemas():
    out = {}
    for db in sorted(os.listdir(SCHEMAS)):
        d = os.path.join(SCHEMAS, db)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".yaml") and not f.startswith("_"):
                with open(os.path.join(d, f)) as fh:
                    spec = yaml.safe_load(fh)
                out[(db, spec.get("collection", f[:-5]))] = spec
    return out


def types_of(field):
    t = field.get("type", "any")
    return t if isinstance(t, list) else [t]


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 0

    def hexid(self):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(24))

    def uuid(self):
        h = "".join(self.rng.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def when(self):
        day = self.rng.randint(1, 28)
        hour = self.rng.randint(0, 23)
        return date(f"2026-01-{day:02d}T{hour:02d}:{self.rng.randint(0, 59):02d}:00Z")

    def value(self, name, field, i):
        t = types_of(field)[0]
        if "enum" in field:
            vals = [v for v in field["enum"] if v is not None]
            return vals[i % len(vals)]
        if "default" in field and i % 3 == 2 and field["default"] not in (None, "now"):
            return copy.deepcopy(field["default"])
        lname = name.lower()
        if t == "string":
            pattern = field.get("pattern", "")
            if "@" in pattern or "email" in lname:
                s = f"user{i}.{self.rng.randint(100, 999)}@example.com"
            elif pattern.startswith("^#"):
                s = "#%06x" % self.rng.randint(0, 0xFFFFFF)
            elif lname in ("id", "_id") or lname.endswith("_id") or lname.endswith("id"):
                s = self.uuid()
            elif "url" in lname or lname in ("avatar", "website"):
                s = f"https://example.com/{lname}/{i}"
            else:
                s = f"{name} {i}"
            if "max_length" in field:
                s = s[: field["max_length"]]
            while len(s) < field.get("min_length", 0):
                s += "x"
            return s
        if t in ("int", "long", "number"):
            lo = field.get("minimum", 0)
            hi = field.get("maximum", lo + 100)
            v = self.rng.randint(int(lo) if lo == int(lo) else int(lo) + 1, int(hi))
            return {"$numberLong": str(v)} if t == "long" else v
        if t == "double":
            lo = float(field.get("minimum", 0))
            hi = float(field.get("maximum", lo + 100))
            return round(self.rng.uniform(lo, hi), 3)
        if t == "bool":
            return i % 2 == 0
        if t == "date":
            return self.when()
        if t == "object_id":
            return oid(self.hexid())
        if t == "object":
            if "values" in field:
                # A map: keys are data (ids), every value as `values` declares it.
                return {self.hexid(): self.value(name + "_value", field["values"], i + k) for k in range(2)}
            return self.document(field.get("fields", {}), i, all_fields=False) if "fields" in field else {"note": f"{name} {i}"}
        if t == "array":
            items = field.get("items")
            if items is None:
                return []
            n = max(field.get("min_items", 0), 2)
            return [self.value(name + "_item", items, i + k) for k in range(n)]
        return f"{name} {i}"

    def document(self, fields, i, all_fields=True):
        doc = {}
        for name, field in fields.items():
            optional = not field.get("required")
            # Leave out some optional fields so documents vary; keep every required one.
            if optional and not all_fields and (i + len(name)) % 3 == 0:
                continue
            if optional and field.get("nullable") and (i + len(name)) % 4 == 0:
                doc[name] = None
                continue
            if name == "_id":
                t = types_of(field)[0]
                doc[name] = oid(self.hexid()) if t == "object_id" else self.uuid()
                continue
            doc[name] = self.value(name, field, i)
        return doc


# The seeds' own example documents (seed 004 gives one per WorkFlowAI model).
SEED_EXAMPLES = {
    ("workflowai", "users"): [{
        "_id": oid("507f1f77bcf86cd799439011"), "clerkId": "user_2abc123def456", "email": "user@example.com",
        "plan": "professional", "subscriptionStatus": "active", "polarCustomerId": "cust_xyz789",
        "polarSubscriptionId": "sub_abc123", "firstName": "John", "lastName": "Doe",
        "imageUrl": "https://img.clerk.com/...", "deletedAt": None,
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T15:30:00.000Z")}],
    ("workflowai", "contacts"): [{
        "_id": oid("507f1f77bcf86cd799439012"), "name": "Jane Doe", "email": "jane@example.com",
        "phone": "+33612345678", "company": "Example Corp", "message": "Interested in your services",
        "source": "website", "status": "new", "type": "contact", "clerkId": None,
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    ("workflowai", "demorequests"): [{
        "_id": oid("507f1f77bcf86cd799439013"), "name": "Bob Smith", "email": "bob@example.com",
        "company": "Tech Startup", "phone": "+33698765432", "jobTitle": "CTO", "companySize": "11-50",
        "industry": "Technology", "businessNeeds": "Need workflow automation", "useCase": "Lead management",
        "timeline": "1-3 months", "message": "Looking forward to the demo",
        "preferredDate": date("2026-01-15T10:00:00.000Z"), "status": "pending", "type": "demo_request",
        "clerkId": None, "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    ("workflowai", "apikeys"): [{
        "_id": oid("507f1f77bcf86cd799439014"), "clerkId": "user_2abc123def456",
        "keyHash": "$2a$10$hashed_key_here...", "keyPrefix": "tc_live_abc123...", "name": "Production Server",
        "revokedAt": None, "lastUsedAt": date("2026-01-09T15:30:00.000Z"),
        "createdAt": date("2026-01-09T10:00:00.000Z"), "updatedAt": date("2026-01-09T15:30:00.000Z")}],
    ("workflowai", "chatconversations"): [{
        "_id": oid("507f1f77bcf86cd799439015"), "sessionId": "chat_1234567890_abc123", "conversationId": "conv_xyz789",
        "userEmail": "user@example.com", "clerkId": "user_2abc123def456",
        "messages": [
            {"role": "user", "content": "Hello!", "timestamp": date("2026-01-09T12:00:00.000Z")},
            {"role": "assistant", "content": "Hello! How can I help you?", "timestamp": date("2026-01-09T12:00:15.000Z")}],
        "messageCount": 2, "metadata": {"model": "gpt-3.5-turbo", "tokens_used": 25, "source": "vercel-chat"},
        "conversationStatus": "active", "type": "chat", "lastMessageAt": date("2026-01-09T12:00:15.000Z"),
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:15.000Z")}],
    ("workflowai", "knowledgefiles"): [{
        "_id": oid("507f1f77bcf86cd799439016"), "path": "uploads/1234567890-abc123-document.pdf",
        "name": "1234567890-abc123-document.pdf", "size": 1024000, "mimeType": "application/pdf",
        "summary": "A business document about workflow automation...", "embedding": [0.123, -0.456, 0.789],
        "storageProvider": "mongodb_gridfs", "storagePath": "507f1f77bcf86cd799439017", "clerkId": "user_2abc123def456",
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    ("workflowai", "analyticevents"): [{
        "_id": oid("507f1f77bcf86cd799439018"), "event": "page_view",
        "metadata": {"page": "/dashboard", "userId": "user_123"}, "clerkId": "user_2abc123def456",
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    ("workflowai", "usagelogs"): [{
        "_id": oid("507f1f77bcf86cd799439019"), "clerkId": "user_2abc123def456",
        "endpoint": "/api/ai?provider=vertex&action=chat", "method": "POST", "status": 200, "responseTimeMs": 1250,
        "userAgent": "Mozilla/5.0...", "ip": "192.168.1.1", "metadata": {"action": "chat", "tokens_used": 150},
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    ("workflowai", "feedbacks"): [{
        "_id": oid("507f1f77bcf86cd799439020"), "formType": "demo", "rating": 5,
        "feedbackText": "Great demo, very helpful!", "userEmail": "user@example.com", "userCompany": "Example Corp",
        "allowFollowup": True, "clerkId": "user_2abc123def456",
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    ("workflowai", "polarevents"): [{
        "_id": oid("507f1f77bcf86cd799439021"), "eventId": "evt_polar_abc123def456", "type": "checkout.succeeded",
        "payload": {"id": "checkout_xyz789", "customer": {"email": "customer@example.com", "external_id": "user_2abc123def456"},
                    "amount": 5000, "status": "completed"},
        "createdAt": date("2026-01-09T12:00:00.000Z"), "updatedAt": date("2026-01-09T12:00:00.000Z")}],
    # Seed 002's sample plans.
    ("botsmith", "plans"): [
        {"id": pid, "name": name, "price": price, "description": desc,
         "limits": {"max_chatbots": bots, "max_messages_per_month": msgs, "max_file_uploads": files,
                    "max_file_size_mb": size, "max_website_sources": web, "max_text_sources": text,
                    "conversation_history_days": days, "allowed_ai_providers": providers,
                    "api_access": api, "custom_branding": brand, "analytics_level": al, "support_level": sl},
         "features": feats, "is_active": True, "created_at": date("2025-01-01T00:00:00Z")}
        for (pid, name, price, desc, bots, msgs, files, size, web, text, days, providers, api, brand, al, sl, feats) in [
            ("free", "Free", 0, "Try BotSmith with one chatbot", 1, 100, 5, 5, 1, 1, 7, ["openai"], False, False, "basic", "community", ["1 chatbot"]),
            ("starter", "Starter", 150, "For small teams", 5, 5000, 50, 20, 5, 10, 30, ["openai", "anthropic"], True, False, "basic", "email", ["5 chatbots", "API access"]),
            ("professional", "Professional", 499, "For growing businesses", 20, 50000, 500, 100, 50, 100, 365, ["openai", "anthropic", "gemini"], True, True, "advanced", "priority", ["20 chatbots", "custom branding"]),
            ("enterprise", "Enterprise", -1, "Unlimited, custom pricing", -1, -1, -1, 1000, -1, -1, -1, ["openai", "anthropic", "gemini"], True, True, "advanced", "priority", ["unlimited"]),
        ]],
}


def first(fields, pred):
    for name, f in fields.items():
        if name != "_id" and pred(name, f):
            return name, f
    return None, None


def invalid_variants(fields, base):
    """Each variant breaks exactly one rule of the top-level fields (or one nested rule)."""
    out = []
    name, _ = first(fields, lambda n, f: f.get("required"))
    if name:
        d = copy.deepcopy(base)
        d.pop(name, None)
        out.append((f"required: {name}", d))
    name, f = first(fields, lambda n, f: types_of(f) == ["string"] and "enum" not in f)
    if name:
        d = copy.deepcopy(base)
        d[name] = 12345
        out.append((f"bsonType: {name}", d))
    name, f = first(fields, lambda n, f: types_of(f) == ["date"])
    if name:
        d = copy.deepcopy(base)
        d[name] = "2026-01-09"
        out.append((f"bsonType: {name}", d))
    name, f = first(fields, lambda n, f: "enum" in f and types_of(f)[0] == "string")
    if name:
        d = copy.deepcopy(base)
        d[name] = "not-a-" + name
        out.append((f"enum: {name}", d))
    name, f = first(fields, lambda n, f: "pattern" in f)
    if name:
        d = copy.deepcopy(base)
        d[name] = "not matching the pattern"
        out.append((f"pattern: {name}", d))
    name, f = first(fields, lambda n, f: "max_length" in f)
    if name:
        d = copy.deepcopy(base)
        d[name] = ("x" * f["max_length"]) + "y" if "pattern" not in f else ("x" * f["max_length"]) + "@example.com"
        out.append((f"maxLength: {name}", d))
    name, f = first(fields, lambda n, f: "maximum" in f)
    if name:
        d = copy.deepcopy(base)
        m = f["maximum"]
        d[name] = m + (1 if types_of(f)[0] != "double" else 0.5)
        out.append((f"maximum: {name}", d))
    name, f = first(fields, lambda n, f: "minimum" in f and "maximum" not in f)
    if name:
        d = copy.deepcopy(base)
        d[name] = f["minimum"] - 1
        out.append((f"minimum: {name}", d))
    # One nested rule: a required field inside an object, or an enum inside array items.
    for name, f in fields.items():
        sub = f.get("fields") or (f.get("items") or {}).get("fields")
        if not sub or name not in base:
            continue
        req, _ = first(sub, lambda n, g: g.get("required"))
        if req and isinstance(base[name], dict) and req in base[name]:
            d = copy.deepcopy(base)
            del d[name][req]
            out.append((f"required: {name}.{req}", d))
            break
        en, g = first(sub, lambda n, g: "enum" in g)
        if en and isinstance(base[name], list) and base[name] and en in base[name][0]:
            d = copy.deepcopy(base)
            d[name][0][en] = "not-a-" + en
            out.append((f"enum: {name}.{en}", d))
            break
    return out


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def canonical_fixtures():
    for (db, coll), spec in sorted(load_schemas().items()):
        gen = Gen(f"{db}.{coll}")
        fields = spec.get("fields", {})
        valid = copy.deepcopy(SEED_EXAMPLES.get((db, coll), []))
        start = len(valid)
        # plans.id is a unique enum of four values: the seed's four plans are all there can be.
        extra = 0 if (db, coll) == ("botsmith", "plans") else 3
        for i in range(start, start + extra):
            valid.append(gen.document(fields, i, all_fields=(i == start)))
        # Documents of a collection with unique indexes must not collide.
        write(os.path.join(FIX, "valid", db, f"{coll}.json"), valid)
        base = gen.document(fields, 0, all_fields=True)
        invalid = []
        for b, d in invalid_variants(fields, base):
            # Each case is its own document: a fresh `_id` of the declared type.
            if "_id" in d:
                d["_id"] = oid(gen.hexid()) if isinstance(d["_id"], dict) else gen.uuid()
            invalid.append({"breaks": b, "document": d})
        write(os.path.join(FIX, "invalid", db, f"{coll}.json"), invalid)


# --- seed 000: the live PromptForge database -------------------------------------------------

def live_data():
    rng = random.Random("promptforge-live")
    g = Gen("promptforge-live-ids")
    users = []
    uids = [f"fb_{''.join(rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789') for _ in range(28))}" for _ in range(5)]
    tiers = ["free", "pro", "free", "enterprise", "free"]
    for i, uid in enumerate(uids):
        users.append({
            "_id": uid, "account_status": "active",
            "billing": {"provider": None if tiers[i] == "free" else "stripe", "customer_id": None if tiers[i] == "free" else f"cus_{i:04d}",
                        "plan": tiers[i], "status": "active", "started_at": g.when(), "renewed_at": g.when(), "created_at": g.when()},
            "credits": {"balance": 100 - 7 * i, "total_purchased": 50 * i, "total_spent": 7 * i, "last_purchase_at": g.when(), "starter_grant_used": True},
            "display_name": ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"][i],
            "email": f"user{i}@promptforge.test", "email_verified": i != 4,
            "last_active_at": g.when(), "last_login_at": g.when(), "login_seq": 3 + i,
            "partnership": {"is_partner": i == 3, "partner_tier": "gold" if i == 3 else None, "application_status": ["none", "pending", "none", "approved", "none"][i]},
            "photo_url": f"https://lh3.example.com/photo/{i}",
            "preferences": {"theme": ["system", "light", "dark"][i % 3], "language": ["en", "es", "fr"][i % 3], "timezone": "Europe/Paris",
                            "notifications": {"marketing": False, "product": True, "security": True},
                            "privacy": {"discoverable": True, "show_profile": i % 2 == 0}, "interface": {"density": "comfortable"}},
            "profile": {"bio": f"Bio of user {i}", "website": None, "location": "Paris", "company": None, "job_title": "Engineer",
                        "expertise": "prompting", "social_links": {}, "country": "FR"},
            "security": {"two_factor_enabled": False, "last_password_change": None, "suspicious_activity_detected": False,
                         "gdpr_consent": True, "gdpr_consent_date": g.when(), "data_retention_until": None},
            "stats": {"prompts_created": 2, "ideas_generated": 3, "tests_run": 0, "marketplace_sales": 0, "total_earnings": 0,
                      "average_rating": 0, "total_reviews": 0, "followers_count": i, "following_count": 1},
            "subscription": {"tier": tiers[i], "status": "active", "stripe_customer_id": None, "provider_customer_id": None},
            "created_at": g.when(), "updated_at": g.when(), "version": 1,
        })
    prompts = []
    visibilities = ["private", "public", "team", "private", "public", "team", "private", "public", "private"]
    for i in range(9):
        prompts.append({
            "_id": oid(g.hexid()), "user_id": uids[i % 5], "project_id": f"proj_{i % 3}", "title": f"Prompt {i}",
            "content": f"You are an expert. Task {i}: ...", "category": ["writing", "coding", "marketing"][i % 3],
            "tags": ["ai", ["seo", "blog"], ["python"]][i % 3] if i % 3 else ["ai"],
            "visibility": visibilities[i], "status": ["draft", "active", "archived"][i % 3], "deleted": i == 7,
            "metadata": {"version": 1 + i % 2, "word_count": 20 + i, "token_estimate": 30 + i, "complexity_score": 0.5},
            "performance": {"usage_count": i, "success_rate": 0.9, "avg_rating": 4.5, "last_used": g.when()},
            "created_at": g.when(), "updated_at": g.when(),
        })
    for p in prompts:
        if isinstance(p["tags"], str):
            p["tags"] = [p["tags"]]
    versions = []
    for i in range(9):
        versions.append({
            "_id": oid(g.hexid()), "prompt_id": prompts[i]["_id"]["$oid"], "version_number": 1,
            "content": prompts[i]["content"], "changes": {"type": ["major", "minor", "patch"][i % 3], "description": "initial", "diff": {}},
            "created_by": prompts[i]["user_id"], "created_at": prompts[i]["created_at"], "is_current": True,
        })
    ideas = []
    for i in range(15):
        ideas.append({
            "_id": oid(g.hexid()), "user_id": uids[i % 5], "prompt_context": f"context {i}",
            "generated_ideas": [f"idea {i}.a", f"idea {i}.b"], "category": ["product", "content", "growth"][i % 3],
            "quality_score": round(rng.uniform(0, 10), 1), "used": i % 4 == 0,
            "feedback": {"rating": 1 + i % 5, "comment": "useful" if i % 2 else ""}, "created_at": g.when(),
        })
    transactions = []
    for i in range(5):
        transactions.append({
            "_id": oid(g.hexid()), "user_id": uids[i], "type": ["purchase", "refund", "credit", "debit", "purchase"][i],
            "amount": [9.99, 9.99, 0, 0, 29.0][i], "currency": "USD", "credits_affected": [100, -100, 50, -5, 300][i],
            # Absent (not null) without a payment: the unique index is sparse, and sparse skips only absent fields.
            **({"stripe_payment_intent": f"pi_{g.hexid()[:16]}"} if i in (0, 1, 4) else {}),
            "status": ["completed", "completed", "completed", "completed", "pending"][i],
            "description": f"transaction {i}", "metadata": {}, "created_at": g.when(), "completed_at": g.when() if i != 4 else None,
        })
    usage = []
    for i in range(16):
        usage.append({
            "_id": oid(g.hexid()), "user_id": uids[i % 5], "event_type": ["prompt_run", "idea_generate", "export"][i % 3],
            "feature": ["editor", "ideas", "export"][i % 3], "metadata": {"tokens": 100 + i}, "session_id": f"sess_{i // 4}",
            "ip_address": f"203.0.113.{i}", "user_agent": "Mozilla/5.0", "timestamp": g.when(),
        })
    auth_logs = []
    for i in range(95):
        ev = ["login", "login", "logout", "failed_login", "password_reset"][i % 5]
        auth_logs.append({
            "_id": oid(g.hexid()), "user_id": uids[i % 5], "event_type": ev, "ip_address": f"198.51.100.{i % 250}",
            "user_agent": "Mozilla/5.0", "location": {"country": "FR", "city": "Paris"}, "success": ev != "failed_login",
            "error_reason": "wrong password" if ev == "failed_login" else None, "timestamp": g.when(),
        })
    notifications = []
    for i in range(4):
        notifications.append({
            "_id": oid(g.hexid()), "user_id": uids[i], "type": ["system", "billing", "marketing", "security"][i],
            "title": f"Notice {i}", "message": f"Message {i}", "read": i % 2 == 0, "read_at": g.when() if i % 2 == 0 else None,
            "action_url": "/settings", "priority": ["low", "medium", "high", "medium"][i], "created_at": g.when(),
        })
    web_vitals = []
    for i in range(3):
        web_vitals.append({
            "_id": oid(g.hexid()), "user_id": uids[i], "page": ["/", "/editor", "/marketplace"][i],
            "metrics": {"lcp": 1200.5 + i, "fid": 12.0 + i, "cls": 0.02 * (i + 1)}, "browser": "Chrome",
            "device_type": ["desktop", "mobile", "tablet"][i], "timestamp": g.when(),
        })
    data = {"users": users, "prompts": prompts, "prompt_versions": versions, "ideas": ideas,
            "transactions": transactions, "usage": usage, "auth_logs": auth_logs,
            "notifications": notifications, "web_vitals": web_vitals}
    total = sum(len(v) for v in data.values())
    assert total == 161, total
    for name, docs in data.items():
        write(os.path.join(FIX, "promptforge_live", "data", "promptforge", f"{name}.json"), docs)


if __name__ == "__main__":
    canonical_fixtures()
    live_data()
    print("fixtures written")
