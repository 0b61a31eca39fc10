"""Geography for the synthetic population: local authority areas, neighbourhoods, streets and postcodes.

Each supported local authority lists its neighbourhoods with the town used in postal addresses and the
real postcode districts that cover them (Moseley is B13, Sutton Coldfield B72–B76), so every generated
postcode is in a district that really belongs to the area. Sectors and unit letters inside a district are
invented but always follow the UK format (inward code: a digit then two letters from the 20 letters
Royal Mail uses, which exclude C, I, K, M, O and V).

Organisation codes are plausible rather than real: GP practice codes use the ODS prefix of the area's
commissioning region followed by random digits, school URNs and DfE establishment numbers are random in
the usual ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AREAS",
    "Area",
    "Neighbourhood",
    "INWARD_LETTERS",
    "STREET_STEMS",
    "STREET_TYPES",
    "STREET_ABBREVIATIONS",
    "SCHOOL_SAINTS",
]

# Letters allowed in the last two characters of a UK postcode.
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """A named locality with the postal town and the postcode districts that serve it."""

    name: str
    town: str
    districts: tuple[str, ...]
    weight: int = 2  # relative number of households with children


@dataclass(frozen=True, slots=True)
class Area:
    """A local authority area that the generator can populate."""

    code: str  # ONS code, e.g. E08000025
    name: str
    la_number: int  # DfE LA number: characters 2-4 of every UPN issued here
    neighbourhoods: tuple[Neighbourhood, ...]
    arterial_roads: tuple[str, ...]  # long main roads that run through many neighbourhoods
    traditions: tuple[tuple[str, float], ...]  # naming-tradition mix of families with children
    gp_prefixes: tuple[str, ...]  # ODS code prefixes of local GP practices
    dialling_code: str  # landline prefix for practitioners' phone numbers
    community_trust: tuple[str, str]  # (ODS code, name) of the trust employing health visitors
    camhs: tuple[str, str]  # (ODS code, name) of the children's mental health service
    childrens_services: tuple[str, str]  # (organisation code, name) of the social care provider
    email_slug: str  # first label of practitioners' (reserved, example.org) email domain


def _hoods(text: str) -> tuple[Neighbourhood, ...]:
    """Parse ``"Name|Town|B13 B14|3"`` lines into neighbourhoods (weight optional)."""
    hoods = []
    for line in text.strip().splitlines():
        parts = [part.strip() for part in line.split("|")]
        weight = int(parts[3]) if len(parts) > 3 else 2
        hoods.append(Neighbourhood(parts[0], parts[1], tuple(parts[2].split()), weight))
    return tuple(hoods)


BIRMINGHAM = Area(
    code="E08000025",
    name="Birmingham",
    la_number=330,
    neighbourhoods=_hoods(
        """
        Acocks Green|Birmingham|B27|3
        Alum Rock|Birmingham|B8|4
        Aston|Birmingham|B6|4
        Balsall Heath|Birmingham|B12|3
        Bartley Green|Birmingham|B32|2
        Billesley|Birmingham|B13 B14|2
        Bordesley Green|Birmingham|B9|4
        Bournville|Birmingham|B30|2
        Castle Bromwich|Birmingham|B36|2
        Castle Vale|Birmingham|B35|2
        City Centre|Birmingham|B1 B2 B3 B4 B5|1
        Digbeth|Birmingham|B5 B12|1
        Druids Heath|Birmingham|B14|1
        Duddeston|Birmingham|B7|1
        Edgbaston|Birmingham|B15 B16|2
        Erdington|Birmingham|B23 B24|4
        Frankley|Birmingham|B45|1
        Garretts Green|Birmingham|B26 B33|1
        Great Barr|Birmingham|B42 B43 B44|2
        Hall Green|Birmingham|B28|3
        Handsworth|Birmingham|B21|4
        Handsworth Wood|Birmingham|B20|2
        Harborne|Birmingham|B17|2
        Hay Mills|Birmingham|B25|1
        Highgate|Birmingham|B12|1
        Hodge Hill|Birmingham|B36|2
        Jewellery Quarter|Birmingham|B1 B18|1
        Kings Heath|Birmingham|B14|3
        Kings Norton|Birmingham|B30 B38|3
        Kingstanding|Birmingham|B44|3
        Kitts Green|Birmingham|B33|2
        Ladywood|Birmingham|B16|2
        Lee Bank|Birmingham|B15|1
        Longbridge|Birmingham|B31|2
        Lozells|Birmingham|B19|3
        Moseley|Birmingham|B13|2
        Nechells|Birmingham|B7|3
        Newtown|Birmingham|B19|2
        Northfield|Birmingham|B31|3
        Oscott|Birmingham|B44|1
        Perry Barr|Birmingham|B42|2
        Pype Hayes|Birmingham|B24|1
        Quinton|Birmingham|B32|2
        Rubery|Birmingham|B45|1
        Saltley|Birmingham|B8|3
        Selly Oak|Birmingham|B29|2
        Shard End|Birmingham|B34|2
        Sheldon|Birmingham|B26|2
        Small Heath|Birmingham|B10|5
        Sparkbrook|Birmingham|B11|5
        Sparkhill|Birmingham|B11|4
        Springfield|Birmingham|B13|1
        Stechford|Birmingham|B33|2
        Stirchley|Birmingham|B30|1
        Stockland Green|Birmingham|B23|2
        Tyseley|Birmingham|B11|1
        Ward End|Birmingham|B8|2
        Washwood Heath|Birmingham|B8|3
        Weoley Castle|Birmingham|B29|2
        West Heath|Birmingham|B31|1
        Winson Green|Birmingham|B18|2
        Witton|Birmingham|B6|1
        Yardley|Birmingham|B25 B26|3
        Yardley Wood|Birmingham|B14|1
        Boldmere|Sutton Coldfield|B73|1
        Four Oaks|Sutton Coldfield|B74 B75|1
        Mere Green|Sutton Coldfield|B75|1
        Walmley|Sutton Coldfield|B76|1
        Wylde Green|Sutton Coldfield|B72 B73|1
        Sutton Coldfield|Sutton Coldfield|B72 B73 B76|2
        """
    ),
    arterial_roads=(
        "Stratford Road", "Coventry Road", "Alum Rock Road", "Soho Road", "Washwood Heath Road",
        "Bristol Road", "Pershore Road", "Alcester Road", "Hagley Road", "Lichfield Road", "Chester Road",
        "Tyburn Road", "Kingsbury Road", "Walsall Road", "Birchfield Road", "Slade Road", "Warwick Road",
        "Yardley Road", "Ladypool Road", "Bordesley Green Road", "College Road", "Shaftmoor Lane",
        "Fox Hollies Road", "Kings Road", "Holyhead Road",
    ),
    traditions=(("gb", 0.50), ("pk", 0.30), ("in", 0.08), ("af", 0.07), ("ee", 0.05)),
    gp_prefixes=("M85", "M85", "M88"),
    dialling_code="0121",
    community_trust=("RYW", "Birmingham Community Healthcare NHS Foundation Trust"),
    camhs=("RQ3", "Forward Thinking Birmingham"),
    childrens_services=("E08000025", "Birmingham Children's Trust"),
    email_slug="birmingham",
)

MANCHESTER = Area(
    code="E08000003",
    name="Manchester",
    la_number=352,
    neighbourhoods=_hoods(
        """
        Ancoats|Manchester|M4|1
        Ardwick|Manchester|M12|2
        Baguley|Manchester|M23|2
        Beswick|Manchester|M11|1
        Blackley|Manchester|M9|3
        Brooklands|Manchester|M23|1
        Burnage|Manchester|M19|2
        Cheetham Hill|Manchester|M8|4
        Chorlton|Manchester|M21|2
        City Centre|Manchester|M1 M2 M3 M4|1
        Clayton|Manchester|M11|2
        Collyhurst|Manchester|M40|1
        Crumpsall|Manchester|M8|2
        Didsbury|Manchester|M20|2
        Fallowfield|Manchester|M14|2
        Gorton|Manchester|M18|4
        Harpurhey|Manchester|M9|3
        Hulme|Manchester|M15|2
        Ladybarn|Manchester|M14|1
        Levenshulme|Manchester|M19|3
        Longsight|Manchester|M13|4
        Miles Platting|Manchester|M40|2
        Moss Side|Manchester|M14 M16|3
        Moston|Manchester|M40|3
        Newton Heath|Manchester|M40|3
        Northenden|Manchester|M22|2
        Openshaw|Manchester|M11|2
        Rusholme|Manchester|M14|3
        Sharston|Manchester|M22|1
        Whalley Range|Manchester|M16|2
        Withington|Manchester|M20|2
        Wythenshawe|Manchester|M22 M23|4
        """
    ),
    arterial_roads=(
        "Oldham Road", "Rochdale Road", "Ashton Old Road", "Hyde Road", "Stockport Road", "Wilmslow Road",
        "Princess Road", "Palatine Road", "Barlow Moor Road", "Cheetham Hill Road", "Moston Lane",
        "Kingsway", "Mauldeth Road", "Hollyhedge Road",
    ),
    traditions=(("gb", 0.55), ("pk", 0.22), ("in", 0.03), ("af", 0.13), ("ee", 0.07)),
    gp_prefixes=("P84",),
    dialling_code="0161",
    community_trust=("R0A", "Manchester University NHS Foundation Trust"),
    camhs=("R0A", "Manchester CAMHS"),
    childrens_services=("E08000003", "Manchester City Council Children's Services"),
    email_slug="manchester",
)

LEEDS = Area(
    code="E08000035",
    name="Leeds",
    la_number=383,
    neighbourhoods=_hoods(
        """
        Adel|Leeds|LS16|1
        Alwoodley|Leeds|LS17|1
        Armley|Leeds|LS12|3
        Beeston|Leeds|LS11|3
        Belle Isle|Leeds|LS10|2
        Bramley|Leeds|LS13|2
        Burley|Leeds|LS4|1
        Burmantofts|Leeds|LS9|2
        Chapel Allerton|Leeds|LS7|2
        Chapeltown|Leeds|LS7|3
        Cookridge|Leeds|LS16|1
        Crossgates|Leeds|LS15|2
        Farnley|Leeds|LS12|2
        Garforth|Leeds|LS25|2
        Gipton|Leeds|LS9|3
        Guiseley|Leeds|LS20|1
        Harehills|Leeds|LS8 LS9|4
        Headingley|Leeds|LS6|1
        Holbeck|Leeds|LS11|2
        Horsforth|Leeds|LS18|2
        Hunslet|Leeds|LS10|2
        Kirkstall|Leeds|LS5|2
        Meanwood|Leeds|LS6|2
        Middleton|Leeds|LS10|3
        Moortown|Leeds|LS17|2
        Morley|Morley|LS27|3
        Osmondthorpe|Leeds|LS9|1
        Otley|Otley|LS21|1
        Pudsey|Pudsey|LS28|2
        Richmond Hill|Leeds|LS9|1
        Rothwell|Rothwell|LS26|2
        Roundhay|Leeds|LS8|2
        Seacroft|Leeds|LS14|3
        Wetherby|Wetherby|LS22|1
        Wortley|Leeds|LS12|2
        Yeadon|Leeds|LS19|1
        """
    ),
    arterial_roads=(
        "York Road", "Harrogate Road", "Roundhay Road", "Dewsbury Road", "Tong Road", "Kirkstall Road",
        "Otley Road", "Selby Road", "Scott Hall Road", "Town Street", "Leeds Road", "Beckett Street",
    ),
    traditions=(("gb", 0.72), ("pk", 0.12), ("in", 0.05), ("af", 0.06), ("ee", 0.05)),
    gp_prefixes=("B86",),
    dialling_code="0113",
    community_trust=("RY6", "Leeds Community Healthcare NHS Trust"),
    camhs=("RY6", "Leeds CAMHS"),
    childrens_services=("E08000035", "Leeds City Council Children and Families"),
    email_slug="leeds",
)

BRISTOL = Area(
    code="E06000023",
    name="Bristol",
    la_number=801,
    neighbourhoods=_hoods(
        """
        Ashley Down|Bristol|BS7|1
        Avonmouth|Bristol|BS11|1
        Barton Hill|Bristol|BS5|2
        Bedminster|Bristol|BS3|3
        Bishopston|Bristol|BS7|2
        Bishopsworth|Bristol|BS13|2
        Brislington|Bristol|BS4|3
        Clifton|Bristol|BS8|1
        Cotham|Bristol|BS6|1
        Easton|Bristol|BS5|4
        Eastville|Bristol|BS5|2
        Filwood|Bristol|BS4|2
        Fishponds|Bristol|BS16|3
        Hartcliffe|Bristol|BS13|3
        Henbury|Bristol|BS10|2
        Henleaze|Bristol|BS9|1
        Hengrove|Bristol|BS14|2
        Horfield|Bristol|BS7|2
        Kingsdown|Bristol|BS2|1
        Knowle|Bristol|BS4|2
        Lawrence Weston|Bristol|BS11|2
        Lockleaze|Bristol|BS7|2
        Montpelier|Bristol|BS6|1
        Redland|Bristol|BS6|1
        Shirehampton|Bristol|BS11|1
        Southmead|Bristol|BS10|3
        Southville|Bristol|BS3|2
        St George|Bristol|BS5|3
        St Pauls|Bristol|BS2|2
        Stapleton|Bristol|BS16|1
        Stockwood|Bristol|BS14|2
        Totterdown|Bristol|BS3 BS4|1
        Westbury-on-Trym|Bristol|BS9|1
        Whitchurch|Bristol|BS14|2
        Withywood|Bristol|BS13|2
        """
    ),
    arterial_roads=(
        "Gloucester Road", "Stapleton Road", "Fishponds Road", "Wells Road", "Bath Road", "Whiteladies Road",
        "Church Road", "North Street", "East Street", "Filton Avenue", "Muller Road", "Two Mile Hill Road",
    ),
    traditions=(("gb", 0.78), ("pk", 0.06), ("in", 0.03), ("af", 0.09), ("ee", 0.04)),
    gp_prefixes=("L81",),
    dialling_code="0117",
    community_trust=("NLX", "Sirona care & health"),
    camhs=("RVN", "Bristol CAMHS"),
    childrens_services=("E06000023", "Bristol City Council Children and Families Services"),
    email_slug="bristol",
)

AREAS: dict[str, Area] = {area.code: area for area in (BIRMINGHAM, MANCHESTER, LEEDS, BRISTOL)}

# Everyday English street names. Combined with STREET_TYPES they give the long tail of residential
# streets; arterial roads above give each area its recognisable main roads.
_STREET_STEMS_TEXT = """
    Church Station Park Victoria Albert Queens Kings Grange Manor Mill School Chapel Green Springfield
    Highfield Windsor York Oak Beech Elm Ash Willow Cedar Holly Laurel Rowan Hawthorn Maple Birch Poplar
    Chestnut Sycamore Lime Hazel Meadow Orchard Brook Riverside Lake Hill Vale Valley Heath Moor Wood
    Forest Field Farm Barn Cross Bridge Castle Abbey Priory Rectory Vicarage Mount Prospect Belmont
    Clarence Stanley Gladstone Wellington Nelson Cromwell Milton Shakespeare Tennyson Byron Wordsworth
    Chaucer Addison Newton Darwin Churchill Lincoln Stafford Warwick Worcester Gloucester Hereford
    Shrewsbury Oxford Cambridge Chester Lichfield Coventry Derby Leicester Kenilworth Stratford Evesham
    Malvern Ludlow Tamworth Bromsgrove Redditch Dudley Walsall Westfield Eastfield Southfield Fairfield
    Greenfield Broadfield Redhill Blackthorn Foxglove Bluebell Primrose Heather Lavender Clover Marigold
    Kingfisher Swallow Heron Wren Robin Lark Falcon Sparrow Thrush Linnet Hollybush Oakfield Ashfield
    Elmfield Beechwood Oakwood Ashwood Elmwood Redwood Briar Bramble Thornhill Hillside Woodside Parkside
    Brookside Lakeside Wharf Canal Tenby Pembroke Arden Chamberlain Baskerville Boulton Priestley
    Alexandra Beaufort Berkeley Denmark Grosvenor Hamilton Jubilee Coronation Marlborough Osborne
    Regent Rutland Salisbury Somerset Sussex Trafalgar Westminster Carlton Claremont Cranbrook Dovedale
    Fernhill Glenwood Harlech Ivy Kestrel Longmore Mayfield Northcote Pinewood Ravenscroft Sandford
    Tudor Upton Waverley Yew Sherbourne Whitmore Lindsworth Doris Evelyn Florence Mary Edith Ada Agnes
"""
STREET_STEMS: tuple[str, ...] = tuple(_STREET_STEMS_TEXT.split())

# (type, relative frequency). Roads dominate in English cities; closes and drives mark newer estates.
STREET_TYPES: tuple[tuple[str, int], ...] = (
    ("Road", 35), ("Street", 12), ("Avenue", 10), ("Close", 10), ("Drive", 8), ("Lane", 7),
    ("Grove", 5), ("Way", 4), ("Crescent", 4), ("Place", 2), ("Gardens", 2), ("Terrace", 1),
    ("Croft", 2), ("Walk", 1), ("Court", 1), ("Mews", 1), ("Rise", 1), ("View", 1),
)

# How clerks and forms abbreviate street types; sources disagree, which is a realistic nuisance.
STREET_ABBREVIATIONS: dict[str, str] = {
    "Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Drive": "Dr", "Lane": "Ln",
    "Grove": "Gr", "Crescent": "Cres", "Place": "Pl", "Gardens": "Gdns", "Terrace": "Terr", "Court": "Ct",
}

# Dedications for church schools' names.
SCHOOL_SAINTS = (
    "St Mary's", "St John's", "St Peter's", "St Paul's", "St Michael's", "St Joseph's", "St Anne's",
    "St Thomas", "St Augustine's", "St Chad's", "St Francis", "St Edmund's", "Holy Family", "Holy Trinity",
    "Our Lady of Lourdes", "St Bernadette's", "St Catherine's", "St Patrick's", "St Margaret's",
    "Christ Church",
)
