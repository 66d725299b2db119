//! The world's fixed tables: capitals, opposites, inventors and other multiple-choice facts, and the
//! words used by the spelling, reversing and letter-counting tasks. All ASCII, all lower-case words except
//! proper names, so a character-level vocabulary covers them.

/// (country, capital).
pub const CAPITALS: &[(&str, &str)] = &[
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Germany", "Berlin"),
    ("Egypt", "Cairo"),
    ("Peru", "Lima"),
    ("Kenya", "Nairobi"),
    ("Canada", "Ottawa"),
    ("China", "Beijing"),
    ("Russia", "Moscow"),
    ("Greece", "Athens"),
    ("Norway", "Oslo"),
    ("Cuba", "Havana"),
    ("Chile", "Santiago"),
    ("Poland", "Warsaw"),
    ("Ireland", "Dublin"),
    ("Austria", "Vienna"),
    ("Portugal", "Lisbon"),
    ("Thailand", "Bangkok"),
];

/// (word, opposite); each pair is asked both ways.
pub const OPPOSITES: &[(&str, &str)] = &[
    ("hot", "cold"),
    ("big", "small"),
    ("fast", "slow"),
    ("up", "down"),
    ("happy", "sad"),
    ("light", "dark"),
    ("open", "closed"),
    ("early", "late"),
    ("full", "empty"),
    ("hard", "soft"),
    ("old", "new"),
    ("rich", "poor"),
    ("strong", "weak"),
    ("wet", "dry"),
    ("tall", "short"),
    ("win", "lose"),
];

/// A multiple-choice fact: a question, its right answer and wrong options (distractors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChoiceFact {
    /// The question, ending with `?`.
    pub question: &'static str,
    /// The right answer.
    pub answer: &'static str,
    /// Wrong answers; three options are shown, so at least two are needed.
    pub distractors: &'static [&'static str],
}

/// The multiple-choice fact table (the example first).
pub const CHOICE_FACTS: &[ChoiceFact] = &[
    ChoiceFact { question: "Who invented the computer?", answer: "von Neumann", distractors: &["Liu Bo", "Dunjiao", "Mozart"] },
    ChoiceFact { question: "Who wrote Hamlet?", answer: "Shakespeare", distractors: &["Newton", "Darwin", "Picasso"] },
    ChoiceFact { question: "Who painted the Mona Lisa?", answer: "da Vinci", distractors: &["Van Gogh", "Monet", "Dickens"] },
    ChoiceFact { question: "Who discovered gravity?", answer: "Newton", distractors: &["Edison", "Homer", "Bach"] },
    ChoiceFact { question: "Who invented the telephone?", answer: "Bell", distractors: &["Tesla", "Caesar", "Plato"] },
    ChoiceFact { question: "Who invented the light bulb?", answer: "Edison", distractors: &["Galileo", "Chopin", "Lincoln"] },
    ChoiceFact { question: "Which planet is the largest?", answer: "Jupiter", distractors: &["Mars", "Venus", "Mercury"] },
    ChoiceFact { question: "Which planet is closest to the sun?", answer: "Mercury", distractors: &["Saturn", "Neptune", "Earth"] },
    ChoiceFact { question: "What color is the sky on a clear day?", answer: "blue", distractors: &["green", "red", "purple"] },
    ChoiceFact { question: "How many legs does a spider have?", answer: "eight", distractors: &["six", "four", "ten"] },
    ChoiceFact { question: "What do bees make?", answer: "honey", distractors: &["milk", "silk", "wool"] },
    ChoiceFact { question: "Which animal is the largest?", answer: "blue whale", distractors: &["elephant", "giraffe", "horse"] },
    ChoiceFact { question: "What is frozen water called?", answer: "ice", distractors: &["steam", "sand", "salt"] },
    ChoiceFact { question: "Which gas do plants take in?", answer: "carbon dioxide", distractors: &["helium", "neon", "hydrogen"] },
];

/// Words for the spelling, reversing and letter-counting tasks (lower-case, 3 to 8 letters).
pub const WORDS: &[&str] = &[
    "apple", "banana", "cherry", "orange", "lemon", "grape", "melon", "peach", "river", "mountain", "forest",
    "ocean", "desert", "island", "valley", "garden", "house", "window", "table", "chair", "pencil", "paper",
    "letter", "bottle", "rabbit", "turtle", "tiger", "zebra", "monkey", "parrot", "dolphin", "spider",
    "summer", "winter", "autumn", "spring", "morning", "evening", "planet", "rocket", "silver", "yellow",
    "purple", "little", "pepper", "coffee", "butter", "cookie", "hello", "world", "puzzle", "balloon",
    "bubble", "mirror", "pillow", "kitten", "cat", "dog", "sun", "moon", "star", "tree", "book", "bell",
    "ball", "door", "street", "school", "banner", "button", "ladder", "sorrow", "mammal", "sleeve",
];
