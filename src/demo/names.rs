//! Word lists for demo data: Kenyan names, places and property names, and the
//! small random pickers the generator draws them with.

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

pub(crate) type Rng = Xoshiro256PlusPlus;

/// True with probability `per_mille` / 1000. Integer odds keep the stream of
/// draws identical on every platform.
pub(crate) fn chance(rng: &mut Rng, per_mille: u32) -> bool {
    rng.random_range(0..1000u32) < per_mille
}

pub(crate) fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    let len = u32::try_from(items.len()).unwrap_or(u32::MAX).max(1);
    &items[rng.random_range(0..len) as usize]
}

/// Picks from `(item, weight)` pairs in proportion to the weights.
pub(crate) fn pick_weighted<T: Copy>(rng: &mut Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if roll < *weight {
            return *item;
        }
        roll -= weight;
    }
    items[items.len() - 1].0
}

/// `n` random decimal digits (leading zeros allowed).
pub(crate) fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A Safaricom-style mobile number, `+2547` and eight digits.
pub(crate) fn phone(rng: &mut Rng) -> String {
    format!("+2547{}", digits(rng, 8))
}

/// A first and last name; Coast counties lean towards Swahili/Muslim names.
pub(crate) fn person(rng: &mut Rng, county: &str) -> String {
    let coastal = matches!(county, "Mombasa" | "Kilifi" | "Kwale") && chance(rng, 600);
    let (first, last) = if coastal {
        (pick(rng, COAST_FIRST), pick(rng, COAST_LAST))
    } else {
        (pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES))
    };
    format!("{first} {last}")
}

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Wanjiku",
    "Achieng",
    "Otieno",
    "Kamau",
    "Njeri",
    "Wambui",
    "Akinyi",
    "Kiprono",
    "Chebet",
    "Mutua",
    "Mueni",
    "Omondi",
    "Auma",
    "Kibet",
    "Jeptoo",
    "Nyambura",
    "Muthoni",
    "Wairimu",
    "Baraka",
    "Zawadi",
    "Imani",
    "Amani",
    "Faith",
    "Grace",
    "Brian",
    "Kevin",
    "Dennis",
    "Mercy",
    "Esther",
    "John",
    "Peter",
    "Mary",
    "Joseph",
    "Ann",
    "James",
    "Lucy",
    "David",
    "Caroline",
    "Samuel",
    "Purity",
    "Collins",
    "Sharon",
    "Victor",
    "Winnie",
    "Stephen",
    "Beatrice",
    "Moses",
    "Naliaka",
    "Nekesa",
    "Wafula",
    "Kerubo",
    "Moraa",
    "Nyaboke",
    "Ochieng",
    "Atieno",
    "Kipchumba",
    "Jepkemboi",
    "Mwende",
    "Ndinda",
    "Kioko",
    "Gitau",
    "Wangari",
    "Njoki",
    "Makena",
    "Kendi",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Kamau",
    "Mwangi",
    "Otieno",
    "Odhiambo",
    "Ochieng",
    "Wanjiru",
    "Njoroge",
    "Kariuki",
    "Kiprop",
    "Kipchoge",
    "Cheruiyot",
    "Mutua",
    "Musyoka",
    "Wambua",
    "Onyango",
    "Owino",
    "Kimani",
    "Githinji",
    "Macharia",
    "Ndungu",
    "Wekesa",
    "Wafula",
    "Barasa",
    "Simiyu",
    "Nyaga",
    "Mugo",
    "Mbugua",
    "Chege",
    "Kiplagat",
    "Rotich",
    "Korir",
    "Langat",
    "Koech",
    "Omollo",
    "Nyamweya",
    "Ongeri",
    "Mokaya",
    "Kilonzo",
    "Muthama",
    "Nzioka",
    "Mwende",
    "Kirui",
    "Too",
    "Oduor",
    "Were",
    "Mutai",
    "Gachanja",
    "Muriuki",
    "Karanja",
    "Waweru",
    "Kinyua",
    "Ngugi",
    "Maina",
    "Njenga",
    "Okoth",
    "Obuya",
];

const COAST_FIRST: &[&str] = &[
    "Hassan",
    "Ali",
    "Omar",
    "Mohamed",
    "Juma",
    "Bakari",
    "Mwanaisha",
    "Fatuma",
    "Amina",
    "Halima",
    "Salim",
    "Rashid",
    "Zuhura",
    "Mwanajuma",
    "Khadija",
    "Swaleh",
    "Athman",
    "Riziki",
];

const COAST_LAST: &[&str] = &[
    "Mwinyi", "Said", "Abdalla", "Mwachofi", "Kazungu", "Baya", "Chai", "Katana", "Karisa",
    "Mwadime", "Nyale", "Shee", "Bwana", "Omar", "Athumani", "Mbwana",
];

/// A county with the neighbourhoods and roads its properties sit on, and its
/// weight among demo properties (Nairobi and its satellites dominate).
pub(crate) struct County {
    pub name: &'static str,
    pub weight: u32,
    pub areas: &'static [(&'static str, &'static str)],
    /// Typical monthly rent of a unit here, in whole shillings (low, high).
    pub rent_range: (i64, i64),
}

pub(crate) const COUNTIES: &[County] = &[
    County {
        name: "Nairobi",
        weight: 40,
        areas: &[
            ("Kilimani", "Argwings Kodhek Road"),
            ("Westlands", "Waiyaki Way"),
            ("South B", "Mchumbi Road"),
            ("Kasarani", "Thika Road"),
            ("Embakasi", "Outer Ring Road"),
            ("Lavington", "James Gichuru Road"),
            ("Parklands", "Limuru Road"),
            ("Kileleshwa", "Othaya Road"),
            ("Eastleigh", "First Avenue"),
            ("Donholm", "Jogoo Road"),
            ("Umoja", "Moi Drive"),
            ("Langata", "Langata Road"),
        ],
        rent_range: (8_000, 80_000),
    },
    County {
        name: "Kiambu",
        weight: 15,
        areas: &[
            ("Ruaka", "Limuru Road"),
            ("Thika", "Garissa Road"),
            ("Kikuyu", "Waiyaki Way"),
            ("Juja", "Thika Road"),
            ("Ruiru", "Kamiti Road"),
            ("Kiambu Town", "Kiambu Road"),
        ],
        rent_range: (6_000, 45_000),
    },
    County {
        name: "Mombasa",
        weight: 10,
        areas: &[
            ("Nyali", "Links Road"),
            ("Bamburi", "Mombasa-Malindi Road"),
            ("Tudor", "Tom Mboya Avenue"),
            ("Kizingo", "Mama Ngina Drive"),
            ("Likoni", "Likoni Road"),
            ("Mikindani", "Mombasa-Nairobi Road"),
        ],
        rent_range: (6_000, 60_000),
    },
    County {
        name: "Nakuru",
        weight: 8,
        areas: &[
            ("Milimani", "Kenyatta Avenue"),
            ("Section 58", "Nairobi-Nakuru Highway"),
            ("Lanet", "Nakuru-Nyahururu Road"),
            ("London", "Kabarak Road"),
        ],
        rent_range: (5_000, 35_000),
    },
    County {
        name: "Kisumu",
        weight: 7,
        areas: &[
            ("Milimani", "Aga Khan Road"),
            ("Mamboleo", "Kisumu-Kakamega Road"),
            ("Nyalenda", "Ring Road"),
            ("Kondele", "Kibos Road"),
        ],
        rent_range: (5_000, 35_000),
    },
    County {
        name: "Machakos",
        weight: 7,
        areas: &[
            ("Syokimau", "Mombasa Road"),
            ("Athi River", "Namanga Road"),
            ("Mlolongo", "Mombasa Road"),
            ("Machakos Town", "Mwatu wa Ngoma Road"),
        ],
        rent_range: (5_000, 40_000),
    },
    County {
        name: "Kajiado",
        weight: 7,
        areas: &[
            ("Kitengela", "Namanga Road"),
            ("Ongata Rongai", "Magadi Road"),
            ("Ngong", "Ngong Road"),
            ("Kiserian", "Magadi Road"),
        ],
        rent_range: (5_000, 45_000),
    },
    County {
        name: "Uasin Gishu",
        weight: 4,
        areas: &[
            ("Elgon View", "Uganda Road"),
            ("Kapsoya", "Kapsoya Road"),
            ("Langas", "Eldoret-Kisumu Road"),
        ],
        rent_range: (5_000, 35_000),
    },
    County {
        name: "Kilifi",
        weight: 2,
        areas: &[("Mtwapa", "Mombasa-Malindi Road"), ("Malindi", "Lamu Road")],
        rent_range: (6_000, 50_000),
    },
];

/// First word of a property name.
pub(crate) const PROPERTY_NAMES: &[&str] = &[
    "Amani",
    "Baraka",
    "Jacaranda",
    "Mvule",
    "Savannah",
    "Uhuru",
    "Mwangaza",
    "Tumaini",
    "Neema",
    "Riverside",
    "Greenpark",
    "Sunrise",
    "Kilele",
    "Msingi",
    "Bahari",
    "Jamhuri",
    "Furaha",
    "Zuri",
    "Mugumo",
    "Nyota",
    "Acacia",
    "Cedar",
    "Milimani",
    "Upendo",
    "Heshima",
    "Tulivu",
    "Kijani",
    "Shwari",
    "Mlimani",
    "Fahari",
];

/// Second word of a property name.
pub(crate) const PROPERTY_KINDS: &[&str] = &[
    "Apartments",
    "Court",
    "Heights",
    "Gardens",
    "Flats",
    "Residency",
    "Villas",
    "Towers",
    "Place",
    "Plaza",
    "Homes",
    "Park",
];
