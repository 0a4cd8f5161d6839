"""Generate the Brightbean Coffee Co. demo data (deterministic: random.Random(42), stdlib only).

    python examples/demo/tools/generate_data.py

writes data/customers.csv, data/products.csv, data/orders.csv and data/order_items.csv next to
this folder. All dates are relative to the fixed reference date 2026-11-20 (noon, Central time),
so the files are identical on every run.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
REFERENCE = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 2026-11-20 12:00 America/Chicago

# --- catalogue (README) -------------------------------------------------------------------------
# (code, product, [(option dict, price)])
COLOURS = {"black": "BLK", "white": "WHT", "red": "RED", "steel": "STL", "sage": "SGE",
           "blue": "BLU", "green": "GRN"}


def _colour_variants(code: str, colours: list[str], price: str) -> list[tuple[str, dict[str, str], str]]:
    return [(f"{code}-{COLOURS[c]}", {"colour": c}, price) for c in colours]


CATALOGUE: list[tuple[str, list[tuple[str, dict[str, str], str]]]] = [
    ("Espresso One", _colour_variants("ESP1", ["black", "white", "red"], "349.00")),
    ("Espresso Pro", _colour_variants("ESPP", ["steel", "black"], "649.00")),
    ("Burr Grinder", _colour_variants("GRND", ["black", "white"], "149.00")),
    ("Smart Kettle", _colour_variants("KETL", ["black", "white", "sage"], "89.00")),
    ("Milk Frother", _colour_variants("FRTH", ["black", "white"], "59.00")),
    ("Cold Brew Maker", [("CBRW-1L", {"size": "1L"}, "49.00"), ("CBRW-2L", {"size": "2L"}, "59.00")]),
    ("Travel Mug", [
        (f"MUG-{size.upper()}-{COLOURS[colour]}", {"size": size, "colour": colour}, "25.00")
        for size in ("12oz", "16oz") for colour in ("black", "blue", "green")
    ]),
    ("Tamper", [("TAMP", {}, "25.00")]),
    ("Descaling Kit", [("DESC", {}, "15.00")]),
    ("Water Filter 3-pack", [("FILT-3", {}, "20.00")]),
    ("House Blend beans", [("HOUSE-250G", {"size": "250g"}, "14.00"),
                           ("HOUSE-1KG", {"size": "1kg"}, "45.00")]),
    ("Single Origin beans", [("SINGLE-250G", {"size": "250g"}, "18.00"),
                             ("SINGLE-1KG", {"size": "1kg"}, "58.00")]),
    ("Beans Subscription", [("SUB-500G", {"plan": "monthly 500g"}, "24.00"),
                            ("SUB-1KG", {"plan": "monthly 1kg"}, "42.00")]),
]
OUT_OF_STOCK = {"ESPP-STL", "MUG-16OZ-GRN", "SINGLE-1KG"}

FIRST = ["Maria", "James", "Aisha", "Daniel", "Priya", "Carlos", "Emily", "Marcus", "Sofia", "Ethan",
         "Grace", "Luis", "Hannah", "Omar", "Chloe", "Noah", "Isabella", "Tyler", "Mei", "Jordan",
         "Rachel", "Diego", "Olivia", "Samuel", "Fatima", "Lucas", "Ava", "Kevin", "Nadia", "Ryan",
         "Zoe", "Andre", "Lily", "Victor", "Megan", "Hiro", "Camila", "Brandon", "Elena", "Jamal",
         "Sarah", "Mateo", "Julia", "Derek", "Ana", "Caleb", "Naomi", "Trevor", "Leah", "Oscar"]
LAST = ["Garcia", "Thompson", "Patel", "Nguyen", "Johnson", "Martinez", "Williams", "Brown", "Lopez",
        "Davis", "Kim", "Hernandez", "Wilson", "Anderson", "Clark", "Rodriguez", "Lee", "Walker",
        "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter",
        "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
        "Collins", "Stewart", "Sanchez", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell",
        "Murphy", "Bailey", "Rivera", "Cooper"]
# (city, state, area code, [zips])
CITIES = [
    ("Austin", "TX", "512", ["78701", "78702", "78704", "78705", "78723", "78745", "78751", "78757"]),
    ("Round Rock", "TX", "512", ["78664", "78665", "78681"]),
    ("Dallas", "TX", "214", ["75201", "75204", "75206", "75214", "75219"]),
    ("Houston", "TX", "713", ["77002", "77006", "77007", "77008", "77019"]),
    ("San Antonio", "TX", "210", ["78204", "78209", "78212", "78215"]),
    ("Fort Worth", "TX", "817", ["76102", "76104", "76107"]),
    ("El Paso", "TX", "915", ["79901", "79902", "79912"]),
    ("Denver", "CO", "303", ["80202", "80205", "80218"]),
    ("Chicago", "IL", "312", ["60601", "60614", "60622"]),
    ("Portland", "OR", "503", ["97201", "97209", "97214"]),
    ("Seattle", "WA", "206", ["98101", "98103", "98122"]),
    ("Phoenix", "AZ", "602", ["85003", "85004", "85012"]),
]
STREETS = ["Oak", "Maple", "Cedar", "Pecan", "Elm", "Congress", "Lamar", "Guadalupe", "Riverside",
           "Barton Springs", "Main", "Magnolia", "Willow", "Bluebonnet", "Live Oak", "Mesquite",
           "Sunset", "Lakeview", "Hillside", "Sycamore"]
STREET_KINDS = ["St", "Ave", "Blvd", "Dr", "Ln", "Rd"]
PAYMENTS = ["visa ending 4242", "visa ending 1881", "mastercard ending 5454", "mastercard ending 4444",
            "amex ending 0005", "discover ending 1117", "paypal", "apple pay"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _option_summary(options: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in options.items())


def build_products() -> list[dict[str, str]]:
    rows = []
    for product, variants in CATALOGUE:
        for sku, options, price in variants:
            rows.append({
                "sku": sku,
                "product": product,
                "option_summary": _option_summary(options),
                "colour": options.get("colour", ""),
                "size": options.get("size", options.get("plan", "")),
                "price": price,
                "in_stock": "no" if sku in OUT_OF_STOCK else "yes",
            })
    return rows


def build_customers(rng: random.Random) -> list[dict[str, str]]:
    firsts, lasts = FIRST[:], LAST[:]
    rng.shuffle(firsts)
    rng.shuffle(lasts)
    phone_suffixes = list(range(100))
    rng.shuffle(phone_suffixes)
    customers = []
    for index in range(50):
        first, last = firsts[index], lasts[index]
        # two thirds in Texas, the rest elsewhere in the US
        city, state, area, zips = rng.choice(CITIES[:7]) if rng.random() < 0.7 else rng.choice(CITIES[7:])
        created = REFERENCE - timedelta(days=rng.randint(100, 900), minutes=rng.randint(0, 1439))
        customers.append({
            "id": f"C-{1001 + index}",
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "phone": f"+1{area}55501{phone_suffixes[index]:02d}",
            "address_line": f"{rng.randint(100, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
            "city": city,
            "state": state,
            "zip": rng.choice(zips),
            "default_payment": rng.choice(PAYMENTS),
            "created_at": _iso(created),
        })
    return customers


STATUS_COUNTS = {"pending": 24, "processing": 16, "shipped": 26, "delivered": 94, "cancelled": 16,
                 "returned": 24}
CARRIERS = ["UPS", "USPS", "FedEx"]


def _tracking(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRTVWXY") for _ in range(16))
    if carrier == "USPS":
        return "9400" + "".join(rng.choice("0123456789") for _ in range(18))
    return "".join(rng.choice("0123456789") for _ in range(12))


def _placed_for(rng: random.Random, status: str) -> datetime:
    hours = {
        "pending": (1, 60),
        "processing": (12, 84),
        "shipped": (48, 8 * 24),
        "delivered": (6 * 24, 90 * 24),
        "cancelled": (2, 90 * 24),
        "returned": (25 * 24, 90 * 24),
    }[status]
    return REFERENCE - timedelta(hours=rng.randint(*hours), minutes=rng.randint(0, 59))


def build_orders(rng: random.Random, customers: list[dict[str, str]], products: list[dict[str, str]]):
    orderable = [p for p in products if not p["sku"].startswith("SUB-")]
    machines = [p for p in orderable if p["product"] in
                ("Espresso One", "Espresso Pro", "Burr Grinder", "Smart Kettle", "Milk Frother")]
    accessories = [p for p in orderable if p not in machines]

    statuses = [s for s, n in STATUS_COUNTS.items() for _ in range(n)]
    drafts = [(_placed_for(rng, s), s) for s in statuses]
    drafts.sort(key=lambda d: d[0])

    owners = [c["id"] for c in customers] + [rng.choice(customers)["id"] for _ in range(len(drafts) - 50)]
    rng.shuffle(owners)
    by_id = {c["id"]: c for c in customers}

    orders, items = [], []
    for index, ((placed, status), owner) in enumerate(zip(drafts, owners, strict=True)):
        order_id = f"BB-{10001 + index}"
        customer = by_id[owner]
        # 1-3 lines: often a machine plus accessories, or just beans and bits
        chosen = []
        if rng.random() < 0.45:
            chosen.append(rng.choice(machines))
        for _ in range(rng.randint(0 if chosen else 1, 2)):
            candidate = rng.choice(accessories)
            if candidate not in chosen:
                chosen.append(candidate)
        lines = []
        for number, product in enumerate(chosen, start=1):
            quantity = rng.randint(1, 3) if "beans" in product["product"] else (2 if rng.random() < 0.1 else 1)
            lines.append({
                "id": f"{order_id}-{number}",
                "order_id": order_id,
                "line": str(number),
                "sku": product["sku"],
                "product": product["product"],
                "option_summary": product["option_summary"],
                "quantity": str(quantity),
                "unit_price": product["price"],
                "status": "ordered",
            })
        subtotal = sum(Decimal(li["unit_price"]) * int(li["quantity"]) for li in lines)
        method = "express" if rng.random() < 0.2 else "standard"
        shipping = Decimal("12.99") if method == "express" else (Decimal("0") if subtotal > 50 else Decimal("4.99"))
        carrier = tracking = delivered_at = ""
        if status in ("shipped", "delivered", "returned"):
            carrier = rng.choice(CARRIERS)
            tracking = _tracking(rng, carrier)
        if status in ("delivered", "returned"):
            transit = rng.randint(1, 2) if method == "express" else rng.randint(3, 6)
            delivered = placed + timedelta(days=transit, hours=rng.randint(0, 6))
            delivered = min(delivered, REFERENCE - timedelta(hours=2))
            delivered_at = _iso(delivered)
        if status == "returned":
            for line in lines:
                line["status"] = "returned"
        elif status == "delivered" and len(lines) > 1 and rng.random() < 0.12:
            lines[-1]["status"] = "returned"  # a partial return: the order stays delivered
        home = f"{customer['address_line']}, {customer['city']}, {customer['state']} {customer['zip']}"
        if rng.random() < 0.08:  # a gift to someone else
            city, state, _area, zips = rng.choice(CITIES)
            home = f"{rng.randint(100, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}, {city}, {state} {rng.choice(zips)}"
        orders.append({
            "id": order_id,
            "customer_id": owner,
            "placed_at": _iso(placed),
            "status": status,
            "delivered_at": delivered_at,
            "shipping_method": method,
            "carrier": carrier,
            "tracking_number": tracking,
            "ship_to": home,
            "payment_method": customer["default_payment"] if rng.random() < 0.9 else rng.choice(PAYMENTS),
            "shipping": f"{shipping:.2f}",
            "total": f"{subtotal + shipping:.2f}",
        })
        items.extend(lines)
    return orders, items


def write(name: str, rows: list[dict[str, str]]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    with (DATA / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(42)
    products = build_products()
    customers = build_customers(rng)
    orders, items = build_orders(rng, customers, products)
    write("products.csv", products)
    write("customers.csv", customers)
    write("orders.csv", orders)
    write("order_items.csv", items)
    print(f"{len(customers)} customers, {len(products)} products, {len(orders)} orders, {len(items)} items")


if __name__ == "__main__":
    main()
