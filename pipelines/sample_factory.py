"""The connected sample factory: bills of materials, materials, their suppliers and purchase history for the PBS
make SKUs, built on top of the tables of `pipelines.sample_data` (which calls `generate` with its own seeded stream).

Public interface: `generate(pbs, fg_items, pbs_monthly, hours, first_po, rng) -> FactoryTables`, `FactoryTables`,
`explode(bom, demand) -> Series` (monthly dependent demand per item), `MATERIALS`, `SUPPLIERS`, `HISTORY_START`.

Structure (four levels, every product at least three):

- **Finished goods** (level 0): the 334 PBS SKUs. Op 1 (processing) consumes the product's bulk, op 2
  (packaging) its packaging: blister film and lidding foil, or bottle, cap and label; a carton (S/M/L by pack
  mass), the family's leaflet and a share of a shipper case.
- **Bulk** (level 1, made): one per ATC level-2 code, ``BLK-<atc2>``, in kg, shared by the up to four PBS SKUs of
  that code (concessional/general × co-payment/safety net). Its dosage form (tablet 55 %, capsule 20 %, oral
  liquid 25 %) fixes its formula and its packaging. Made in one operation on 1-2 of the granulation lines L01-L03
  (tablets, capsules) or on L05 (liquids); rates put 5 % extra load on those lines at the mean demand of Jul 2007 -
  Jun 2008 (the rates are scaled to that, like the products' rates, so they are high for the heavy liquids). Batch
  (lot_size = moq) about a week of need in 50 kg steps, lot rule ``fixed``, 3 days of QC release.
- **Film coat** (level 2, made): two coating suspensions (white, coloured) on L05, used by the coated tablets
  (half of them).
- **Purchased materials** (the deepest level): one active ingredient per bulk (``API-<atc2>``), 15 excipients and
  25 packaging materials, most shared by many products. Units are in the name (kg, m², each).

Quantities: a pack holds 4-30 g of tablet or capsule bulk or 100-250 g of liquid; the active ingredient is 2-30 %
of a solid bulk (0.5-5 % of a liquid), fillers make up the rest of a solid, water (made in-house, not planned) the
rest of a liquid. Scrap: 1-3 % of bulk at op 1, 0.5-2 % of packaging, 1-2 % in granulation.

Prices (AUD, the PBS world's currency): excipients and packaging at typical list prices ±10 %; an active ingredient
costs what 8-20 % of its products' unit cost buys. A bulk costs its materials + 15 % conversion.

Suppliers ``SUP-201`` … ``SUP-216`` (5 API makers, 4 excipient houses, 7 packaging converters) with hidden traits
drawn as for the RAF suppliers (`truth/supplier_traits.csv`). Every material has a primary offer and, for 40 %, an
alternate (lead time ±30 %, price ×0.9-1.2). Lead times: APIs 60-120 days, excipients 14-42, capsule shells, film
and foil 28-56, printed cartons, leaflets and labels 21-42, bottles and caps 21-35, shippers 7-14.

Purchase history: orders from 2007-01-01 to 2008-06-30 cover 0.5-3 months of each material's dependent demand
(the PBS demand of Jul 2007 - Jun 2008 exploded through the BOM, flat over the months: a simplification), split
over its offers (primary 75-90 %) and delivered as the supplier's traits say; arrivals after 2008-06-30 are open
POs (they become `open_orders` of kind purchase). Stock on 2008-07-01: bulks 0.2-0.6 months, materials 0.5-2 months of
dependent demand (5 % of the materials at zero).

Planning parameters: active ingredients ``wagner_whitin`` (order cost 250-600), excipients ``poq`` (2-3 periods,
some left to the plan), packaging ``lot_for_lot``; the shipper, caps, labels and magnesium stearate are ``pull``
(kanban) items with a container size. Finished goods keep their lot size and MOQ with ``moq_multiple`` and 2 days
of QA release and a setup cost of 150-400 per production order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.sample_data import PBS_AS_OF, WEEKS_PER_MONTH, deliveries, line_load

__all__ = ["HISTORY_START", "MATERIALS", "SUPPLIERS", "FactoryTables", "explode", "generate"]

HISTORY_START = pd.Timestamp("2007-01-01")
HISTORY_END = PBS_AS_OF - pd.Timedelta(days=1)
BULK_LOAD = 0.05  # extra load bulk making puts on its lines, at the mean demand

#: Supplier categories: (category, how many, trades in their names).
SUPPLIERS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("api", 5, ("Fine Chemicals", "Pharma Ingredients", "Synthesis")),
    ("excipient", 4, ("Excipients", "Chemical Distributors", "Ingredients")),
    ("packaging", 7, ("Packaging", "Cartons & Print", "Closures", "Films & Foils", "Plastics")),
)
_HEADS = ("Harbour", "Southern", "Coral", "Wattle", "Banksia", "Murray", "Tasman", "Eyre", "Otway", "Hunter")
_FORMS = ("Pty Ltd", "Pty Ltd", "Ltd", "Group Pty Ltd")

#: Purchased materials other than the active ingredients: sku → (name with unit, category, base price AUD,
#: lead-time range in days, pull container size or None).
MATERIALS: dict[str, tuple[str, str, float, tuple[int, int], float | None]] = {
    "EXC-LACTOSE": ("Lactose monohydrate (kg)", "excipient", 3.2, (14, 35), None),
    "EXC-MCC": ("Microcrystalline cellulose (kg)", "excipient", 7.5, (14, 35), None),
    "EXC-POVIDONE": ("Povidone K30 (kg)", "excipient", 28.0, (21, 42), None),
    "EXC-CROSCARMELLOSE": ("Croscarmellose sodium (kg)", "excipient", 22.0, (21, 42), None),
    "EXC-MGST": ("Magnesium stearate (kg)", "excipient", 12.0, (14, 28), 25.0),
    "EXC-STARCH": ("Maize starch (kg)", "excipient", 2.1, (14, 28), None),
    "EXC-CAPS-0": ("Hard gelatin capsule shells, size 0 (each)", "excipient", 0.012, (28, 56), None),
    "EXC-CAPS-1": ("Hard gelatin capsule shells, size 1 (each)", "excipient", 0.010, (28, 56), None),
    "EXC-SUCROSE": ("Sucrose (kg)", "excipient", 1.4, (14, 28), None),
    "EXC-GLYCEROL": ("Glycerol (kg)", "excipient", 3.8, (14, 35), None),
    "EXC-PARABEN": ("Methyl parahydroxybenzoate (kg)", "excipient", 45.0, (21, 42), None),
    "EXC-FLAVOUR": ("Flavour concentrate (kg)", "excipient", 85.0, (21, 42), None),
    "EXC-HPMC": ("HPMC coating premix (kg)", "excipient", 38.0, (21, 42), None),
    "EXC-TIO2": ("Titanium dioxide (kg)", "excipient", 9.5, (14, 35), None),
    "EXC-IRONOXIDE": ("Iron oxide pigment (kg)", "excipient", 16.0, (21, 42), None),
    "PK-FILM": ("PVC/PVDC blister film (m²)", "packaging", 3.2, (28, 56), None),
    "PK-FOIL": ("Aluminium lidding foil (m²)", "packaging", 5.8, (28, 56), None),
    "PK-CARTON-S": ("Folding carton, small (each)", "packaging", 0.09, (21, 42), None),
    "PK-CARTON-M": ("Folding carton, medium (each)", "packaging", 0.12, (21, 42), None),
    "PK-CARTON-L": ("Folding carton, large (each)", "packaging", 0.16, (21, 42), None),
    "PK-BOTTLE-100": ("HDPE bottle 100 ml (each)", "packaging", 0.22, (21, 35), None),
    "PK-BOTTLE-250": ("HDPE bottle 250 ml (each)", "packaging", 0.31, (21, 35), None),
    "PK-CAP": ("Child-resistant cap 28 mm (each)", "packaging", 0.07, (21, 35), 5000.0),
    "PK-LABEL": ("Bottle label, blank (each)", "packaging", 0.025, (21, 42), 10000.0),
    "PK-SHIPPER": ("Shipper case (each)", "packaging", 1.10, (7, 14), 500.0),
}
LEAFLET_PRICE, LEAFLET_LEAD = 0.035, (21, 42)
#: (form, share of ATC2 codes, bulk kg per pack range)
FORMS = (("tablet", 0.55, (0.004, 0.03)), ("capsule", 0.20, (0.004, 0.02)), ("liquid", 0.25, (0.10, 0.25)))


@dataclass(frozen=True)
class FactoryTables:
    """Rows the factory adds to the sample set's tables, plus its `bom` table and hidden supplier traits."""

    items: pd.DataFrame
    bom: pd.DataFrame
    routings: pd.DataFrame
    suppliers: pd.DataFrame
    receipts: pd.DataFrame
    inventory: pd.DataFrame
    #: the finished goods' setup cost per production order (sku, order_cost)
    finished: pd.DataFrame
    traits: pd.DataFrame


def explode(bom: pd.DataFrame, demand: pd.Series) -> pd.Series:
    """Demand per item (`demand`: independent demand by SKU) plus the dependent demand it causes through `bom`
    (qty_per / (1 − scrap_rate) per unit of parent), level by level until no parent is left to explode."""
    total = demand.astype(float).copy()
    wave = demand.astype(float)
    per_unit = bom["qty_per"] / (1 - bom["scrap_rate"])
    for _ in range(len(bom) + 1):
        lines = bom.assign(need=bom["parent_sku"].map(wave).fillna(0.0) * per_unit)
        wave = lines[lines["need"] > 0].groupby("component_sku")["need"].sum()
        if wave.empty:
            return total
        total = total.add(wave, fill_value=0.0)
    raise ValueError("the bill of materials has a cycle; explode needs an acyclic BOM")


def _supplier_traits(rng: np.random.Generator) -> pd.DataFrame:
    """Hidden reliability of the material suppliers, drawn as `pipelines.sample_data` draws the RAF suppliers'."""
    rows = []
    number = 201
    for category, count, trades in SUPPLIERS:
        heads = rng.choice(_HEADS, count, replace=False)
        for i in range(count):
            name = f"{heads[i]} {trades[i % len(trades)]} {rng.choice(_FORMS)}"
            rows.append((f"SUP-{number}", name, category))
            number += 1
    n = len(rows)
    return pd.DataFrame(
        {
            "supplier_id": [r[0] for r in rows],
            "supplier_name": [r[1] for r in rows],
            "on_time_rate": np.round(rng.uniform(0.60, 0.99, n), 3),
            "late_days_mean": np.round(rng.gamma(3.0, 5.0, n) + 3.0, 1),
            "lead_time_cv": np.round(rng.uniform(0.03, 0.30, n), 3),
            "short_delivery_prob": np.round(rng.uniform(0.0, 0.25, n), 3),
            "short_fill_mean": np.round(rng.uniform(0.50, 0.95, n), 3),
            "degrading": rng.random(n) < 0.06,
            "category": [r[2] for r in rows],
        }
    )


def _bulks(pbs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One bulk per ATC2 code: form, kg per pack, coating, active share and capsule size."""
    codes = pbs.drop_duplicates("atc2").sort_values("atc2")
    n = len(codes)
    form = rng.choice([f for f, _, _ in FORMS], n, p=[p for _, p, _ in FORMS])
    low = np.select([form == f for f, _, _ in FORMS], [r[0] for _, _, r in FORMS])
    high = np.select([form == f for f, _, _ in FORMS], [r[1] for _, _, r in FORMS])
    return pd.DataFrame(
        {
            "sku": "BLK-" + codes["atc2"].to_numpy(),
            "atc2": codes["atc2"].to_numpy(),
            "family": codes["atc1"].to_numpy(),
            "name": codes["atc2_desc"].to_numpy() + " bulk (kg)",
            "form": form,
            "kg_per_pack": np.round(rng.uniform(low, high), 4),
            "coated": (form == "tablet") & (rng.random(n) < 0.5),
            "colour": rng.random(n) < 0.4,
            "active": np.round(np.where(form == "liquid", rng.uniform(0.005, 0.05, n), rng.uniform(0.02, 0.30, n)), 3),
            "capsule": rng.choice(["EXC-CAPS-0", "EXC-CAPS-1"], n),
            "fill_g": rng.uniform(0.2, 0.5, n),
        }
    )


def _line(parent: str, component: str, op: int, qty: float, scrap: float) -> tuple[str, str, int, float, float]:
    return parent, component, op, float(qty), float(scrap)


def _bulk_lines(bulks: pd.DataFrame, rng: np.random.Generator) -> list[tuple[str, str, int, float, float]]:
    """Per kg of bulk: the active ingredient, the form's excipients (fillers close a solid formula to 1 kg)."""
    lines = []
    for b in bulks.to_dict("records"):
        scrap = round(float(rng.uniform(0.01, 0.02)), 3)
        api = float(b["active"])
        if b["form"] == "liquid":
            parts = {
                "EXC-SUCROSE": rng.uniform(0.2, 0.4),
                "EXC-GLYCEROL": rng.uniform(0.05, 0.1),
                "EXC-PARABEN": rng.uniform(0.001, 0.002),
                "EXC-FLAVOUR": rng.uniform(0.002, 0.005),
            }
        else:
            parts = {
                "EXC-MGST": rng.uniform(0.005, 0.01),
                "EXC-CROSCARMELLOSE" if b["form"] == "tablet" else "EXC-STARCH": rng.uniform(0.02, 0.05),
            }
            if b["form"] == "tablet":
                parts["EXC-POVIDONE"] = rng.uniform(0.02, 0.05)
            coat = rng.uniform(0.02, 0.04) if b["coated"] else 0.0
            filler = 1.0 - api - sum(parts.values()) - coat
            share = rng.uniform(0.5, 0.75)
            parts["EXC-LACTOSE"] = filler * share
            parts["EXC-MCC" if b["form"] == "tablet" else "EXC-STARCH"] = filler * (1 - share) + parts.get(
                "EXC-STARCH", 0
            )
            if b["coated"]:
                parts["SF-COAT-COLOUR" if b["colour"] else "SF-COAT-WHITE"] = coat
            if b["form"] == "capsule":
                parts[b["capsule"]] = 1000.0 / b["fill_g"]  # shells per kg of fill
        lines.append(_line(b["sku"], f"API-{b['atc2']}", 1, round(api, 4), scrap))
        lines += [_line(b["sku"], sku, 1, round(float(q), 4), scrap) for sku, q in parts.items()]
    coats = {
        "SF-COAT-WHITE": {"EXC-HPMC": 0.85, "EXC-TIO2": 0.15},
        "SF-COAT-COLOUR": {"EXC-HPMC": 0.82, "EXC-TIO2": 0.1, "EXC-IRONOXIDE": 0.08},
    }
    for suspension, formula in coats.items():
        lines += [_line(suspension, sku, 1, q, 0.02) for sku, q in formula.items()]
    return lines


def _product_lines(
    pbs: pd.DataFrame, bulks: pd.DataFrame, rng: np.random.Generator
) -> list[tuple[str, str, int, float, float]]:
    """Per pack: its bulk at op 1; blister or bottle packaging, carton, leaflet and a shipper share at op 2."""
    bulk = bulks.set_index("atc2")
    lines = []
    for p in pbs.to_dict("records"):
        b = bulk.loc[p["atc2"]]
        kg = float(b["kg_per_pack"]) * rng.uniform(0.9, 1.1)
        lines.append(_line(p["sku"], b["sku"], 1, round(kg, 5), round(float(rng.uniform(0.01, 0.03)), 3)))
        pack_scrap = round(float(rng.uniform(0.005, 0.02)), 3)
        if b["form"] == "liquid":
            bottle = "PK-BOTTLE-100" if kg < 0.17 else "PK-BOTTLE-250"
            packs = {bottle: 1.0, "PK-CAP": 1.0, "PK-LABEL": 1.0, "PK-CARTON-M": 1.0}
        else:
            area = round(kg * rng.uniform(1.2, 1.8), 4)  # m² of film (and of foil) per pack
            carton = "PK-CARTON-S" if kg < 0.01 else "PK-CARTON-M" if kg < 0.02 else "PK-CARTON-L"
            packs = {"PK-FILM": area, "PK-FOIL": area, carton: 1.0}
        packs[f"PK-LEAFLET-{p['atc1']}"] = 1.0
        packs["PK-SHIPPER"] = round(1.0 / float(rng.choice([48, 60, 96, 120])), 5)
        lines += [_line(p["sku"], sku, 2, q, pack_scrap) for sku, q in packs.items()]
    return lines


def _material_master(bulks: pd.DataFrame, families: list[str]) -> pd.DataFrame:
    """Every purchased material: sku, name, category, base price, lead-time range, pull container."""
    rows = [(sku, *spec) for sku, spec in MATERIALS.items()]
    rows += [
        (f"PK-LEAFLET-{f}", f"Patient leaflet, family {f} (each)", "packaging", LEAFLET_PRICE, LEAFLET_LEAD, None)
        for f in families
    ]
    described = bulks["name"].str.removesuffix(" bulk (kg)") + " active ingredient (kg)"
    rows += [
        (f"API-{code}", name, "api", np.nan, (60, 120), None)
        for code, name in zip(bulks["atc2"], described, strict=True)
    ]
    return pd.DataFrame(rows, columns=["sku", "name", "category", "base_price", "lead", "container_qty"])


def _api_prices(bom: pd.DataFrame, fg: pd.DataFrame, monthly: pd.Series, rng: np.random.Generator) -> pd.Series:
    """AUD per kg of each active ingredient: what 8-20 % of its products' unit cost buys, demand-weighted."""
    to_bulk = bom[bom["parent_sku"].isin(fg["sku"]) & bom["component_sku"].str.startswith("BLK-")]
    to_api = bom[bom["component_sku"].str.startswith("API-")].set_index("parent_sku")["qty_per"]
    kg_api = to_bulk["qty_per"].to_numpy() * to_bulk["component_sku"].map(to_api).to_numpy()
    cost = to_bulk["parent_sku"].map(fg.set_index("sku")["unit_cost"]).to_numpy() * rng.uniform(0.08, 0.20, len(kg_api))
    weight = to_bulk["parent_sku"].map(monthly).fillna(0.0).to_numpy() + 1.0
    frame = pd.DataFrame({"api": "API-" + to_bulk["component_sku"].str[4:], "w": weight, "wp": weight * cost / kg_api})
    sums = frame.groupby("api")[["w", "wp"]].sum()
    return (sums["wp"] / sums["w"]).round(2)


def generate(
    pbs: pd.DataFrame,
    fg_items: pd.DataFrame,
    pbs_monthly: pd.Series,
    hours: pd.Series,
    first_po: int,
    rng: np.random.Generator,
) -> FactoryTables:
    """The factory's rows: `pbs` (real PBS items with sku), `fg_items` (their item rows), `pbs_monthly` (mean monthly
    demand), `hours` (monthly working hours per line), `first_po` (number of the first PO id)."""
    traits = _supplier_traits(rng)
    bulks = _bulks(pbs, rng)
    bom = pd.DataFrame(
        _bulk_lines(bulks, rng) + _product_lines(pbs, bulks, rng),
        columns=["parent_sku", "component_sku", "op", "qty_per", "scrap_rate"],
    )
    monthly_need = explode(bom, pbs_monthly)
    materials = _material_master(bulks, sorted(pbs["atc1"].unique()))
    n_mat = len(materials)
    api_price = _api_prices(bom, fg_items, pbs_monthly, rng)
    price = materials["base_price"].fillna(materials["sku"].map(api_price)).to_numpy()
    price = np.round(np.where(materials["category"] == "api", price, price * rng.uniform(0.9, 1.1, n_mat)), 4)
    materials = materials.assign(unit_cost=price, need=materials["sku"].map(monthly_need).fillna(0.0).to_numpy())

    routings = _routings(bulks, monthly_need, hours, rng)
    made = _made_items(bulks, bom, monthly_need, price, materials, rng)
    offers = _offers(materials, traits, rng)
    receipts = _receipts(offers, materials, traits, first_po, rng)
    items = pd.concat([_bought_items(materials, rng), made], ignore_index=True)
    undated = pd.Series(pd.NaT, index=bom.index, dtype="datetime64[ns]")
    bom = bom.assign(valid_from=undated, valid_to=undated).sort_values(["parent_sku", "op", "component_sku"])
    inventory = _stock(items, monthly_need, rng)
    finished = pd.DataFrame({"sku": fg_items["sku"], "order_cost": np.round(rng.uniform(150, 400, len(fg_items)), -1)})
    return FactoryTables(
        items=items,
        bom=bom.reset_index(drop=True),
        routings=routings,
        suppliers=offers.drop(columns=["_rank"]),
        receipts=receipts,
        inventory=inventory,
        finished=finished,
        traits=traits.drop(columns="category"),
    )


def _routings(bulks: pd.DataFrame, need: pd.Series, hours: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """One operation per bulk (1-2 of L01-L03, liquids on L05) and coat (L05), rated for `BULK_LOAD` extra load."""
    rows = []
    for b in bulks.to_dict("records"):
        lines = (
            ["L05"] if b["form"] == "liquid" else sorted(rng.choice(["L01", "L02", "L03"], rng.integers(1, 3), False))
        )
        rows += [(b["sku"], 1, line) for line in lines]
    rows += [("SF-COAT-WHITE", 1, "L05"), ("SF-COAT-COLOUR", 1, "L05")]
    frame = pd.DataFrame(rows, columns=["sku", "op", "line_id"])
    frame["rate_per_hour"] = rng.lognormal(0.0, 0.2, len(frame))
    ids = sorted(frame["line_id"].unique())
    scale = line_load(frame, need, hours).sum() / (hours[ids].sum() * BULK_LOAD)
    frame["rate_per_hour"] = np.maximum(np.round(frame["rate_per_hour"] * scale), 1.0)
    return frame


def _made_items(
    bulks: pd.DataFrame,
    bom: pd.DataFrame,
    need: pd.Series,
    price: np.ndarray,
    materials: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Bulks and coats: cost = materials + 15 % conversion; a week of need per batch; fixed lots, QC release."""
    cost = pd.Series(price, index=materials["sku"])
    for _ in range(2):  # coats first, then the bulks that use them
        lines = bom.assign(c=bom["component_sku"].map(cost) * bom["qty_per"] / (1 - bom["scrap_rate"]))
        cost = pd.concat([cost, (lines.groupby("parent_sku")["c"].sum(min_count=1) * 1.15).round(2).dropna()])
        cost = cost[~cost.index.duplicated(keep="last")]
    skus = [*bulks["sku"], "SF-COAT-WHITE", "SF-COAT-COLOUR"]
    names = [*bulks["name"], "Film-coat suspension, white (kg)", "Film-coat suspension, coloured (kg)"]
    monthly = pd.Series(skus).map(need).fillna(0.0).to_numpy()
    lot = np.maximum(np.ceil(monthly / WEEKS_PER_MONTH / 50) * 50, 50.0)  # about a week of need per batch
    n = len(skus)
    return pd.DataFrame(
        {
            "sku": skus,
            "name": names,
            "family": [*bulks["family"], None, None],
            "unit_cost": pd.Series(skus).map(cost).to_numpy(),
            "price": np.nan,
            "shelf_life_days": pd.array(rng.choice([180, 270, 365], n), dtype="Int64"),
            "lot_size": lot,
            "moq": lot,
            "make_or_buy": "make",
            "lot_rule": "fixed",
            "poq_periods": pd.array([pd.NA] * n, dtype="Int64"),
            "order_cost": np.round(rng.uniform(400, 900, n), -1),
            "queue_days": 3.0,
            "pull": False,
            "container_qty": np.nan,
        }
    )


def _bought_items(materials: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(materials)
    category = materials["category"].to_numpy()
    rule = np.select([category == "api", category == "excipient"], ["wagner_whitin", "poq"], "lot_for_lot")
    poq = np.where((category == "excipient") & (rng.random(n) < 0.7), rng.integers(2, 4, n), 0)
    pull = materials["container_qty"].notna().to_numpy()
    return pd.DataFrame(
        {
            "sku": materials["sku"],
            "name": materials["name"],
            "family": None,
            "unit_cost": materials["unit_cost"],
            "price": np.nan,
            "shelf_life_days": pd.array([pd.NA if c == "packaging" else 730 for c in category], dtype="Int64"),
            "lot_size": 1.0,
            "moq": 0.0,
            "make_or_buy": "buy",
            "lot_rule": np.where(pull, "lot_for_lot", rule),
            "poq_periods": pd.array([p if p > 0 else pd.NA for p in poq], dtype="Int64"),
            "order_cost": np.where(category == "api", np.round(rng.uniform(250, 600, n), -1), np.nan),
            "queue_days": 0.0,
            "pull": pull,
            "container_qty": materials["container_qty"].astype(float),
        }
    )


def _offers(materials: pd.DataFrame, traits: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A primary offer per material from a supplier of its category; an alternate for 40 %."""
    rows = []
    for m in materials.to_dict("records"):
        pool = traits.loc[traits["category"] == m["category"], ["supplier_id", "supplier_name"]].to_numpy()
        picks = pool[rng.permutation(len(pool))[: 2 if rng.random() < 0.4 else 1]]
        lead = int(rng.integers(m["lead"][0], m["lead"][1] + 1))
        yearly = max(m["need"] * 12, 1.0)
        lot = 10.0 ** max(np.floor(np.log10(yearly / 50)), 0)  # about 50 lots a year at most
        for rank, (supplier, name) in enumerate(picks):
            alt = rank > 0
            rows.append(
                {
                    "supplier_id": supplier,
                    "sku": m["sku"],
                    "supplier_name": name,
                    "unit_price": round(m["unit_cost"] * (rng.uniform(0.9, 1.2) if alt else 1.0), 4),
                    "moq": lot * float(rng.choice([1, 2, 5])),
                    "lot_multiple": lot,
                    "nominal_lead_time_days": max(round(lead * rng.uniform(0.7, 1.3)), 1) if alt else lead,
                    "capacity_per_period": np.nan,
                    "_rank": rank,
                }
            )
    return pd.DataFrame(rows)


def _receipts(
    offers: pd.DataFrame, materials: pd.DataFrame, traits: pd.DataFrame, first_po: int, rng: np.random.Generator
) -> pd.DataFrame:
    """18 months of POs covering 0.5-3 months of dependent demand each, split over the offers, as delivered."""
    need = offers["sku"].map(materials.set_index("sku")["need"]).to_numpy()
    category = offers["sku"].map(materials.set_index("sku")["category"]).to_numpy()
    cover = np.where(category == "api", rng.uniform(2.0, 3.0, len(offers)), rng.uniform(0.5, 2.0, len(offers)))
    n_offers = offers.groupby("sku")["sku"].transform("size").to_numpy()
    primary = rng.uniform(0.75, 0.9, len(offers))
    share = np.where(n_offers == 1, 1.0, np.where(offers["_rank"] == 0, primary, 1 - primary))
    span = (HISTORY_END - HISTORY_START).days + 1
    count = np.maximum(np.round(span / (cover * 30.4) * share), 1).astype(int)
    po = offers.loc[offers.index.repeat(count)].reset_index(drop=True)
    k = np.repeat(count, count)
    i = po.groupby(["sku", "supplier_id"]).cumcount().to_numpy()
    day = np.minimum(((i + rng.random(len(po))) / k * span).astype(int), span - 1)
    lot, moq = po["lot_multiple"].to_numpy(), po["moq"].to_numpy()
    qty = np.ceil(np.repeat(need * cover, count) * rng.uniform(0.8, 1.25, len(po)) / lot) * lot
    qty = np.maximum(qty, np.maximum(np.ceil(moq / lot) * lot, lot))
    calendar_day = (HISTORY_START + pd.to_timedelta(day, unit="D")).to_numpy().astype("datetime64[D]")
    out = deliveries(po, calendar_day, qty, day / span, HISTORY_END, traits, rng)
    out.insert(0, "po_id", [f"PO-{n:06d}" for n in range(first_po, first_po + len(out))])
    return out


def _stock(items: pd.DataFrame, need: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Stock on the plan date: bulks and coats 0.2-0.6 months, materials 0.5-2 months (5 % at zero)."""
    n = len(items)
    monthly = items["sku"].map(need).fillna(0.0).to_numpy()
    made = (items["make_or_buy"] == "make").to_numpy()
    months = np.where(made, rng.uniform(0.2, 0.6, n), rng.uniform(0.5, 2.0, n))
    months = np.where(~made & (rng.random(n) < 0.05), 0.0, months)
    whole = items["sku"].str.startswith(("PK-", "EXC-CAPS")).to_numpy()  # counted items: whole units
    on_hand = np.where(whole, np.ceil(monthly * months), np.round(monthly * months, 1))
    return pd.DataFrame({"sku": items["sku"], "as_of": PBS_AS_OF, "on_hand": on_hand, "backorders": 0.0})
