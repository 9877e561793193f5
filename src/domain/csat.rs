//! Customer satisfaction (CSAT): the three answers a customer can give when a ticket
//! is resolved, and how answers add up (per priority for the monthly report, over a
//! period for the App Home). Pure.
//!
//! Three answers, not a 1–5 scale: "good", "okay", "bad" fit three buttons a customer
//! reads at a glance in either language, and the figure reported is the one the
//! support tools our users compare us with report: the share of *good* answers
//! (an "okay" counts as answered, not as good).

use super::sla::Priority;

/// One customer's answer to "how did it go?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rating {
    Good,
    Okay,
    Bad,
}

impl Rating {
    pub const ALL: [Rating; 3] = [Rating::Good, Rating::Okay, Rating::Bad];

    /// The stored form, also the end of the button's action_id (`csat_good`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::Okay => "okay",
            Rating::Bad => "bad",
        }
    }

    pub fn parse(text: &str) -> Option<Rating> {
        Rating::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Answers counted: how many, and how many were good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsatSummary {
    pub answered: u32,
    pub good: u32,
}

impl CsatSummary {
    /// Adds up `ratings`.
    pub fn of(ratings: impl IntoIterator<Item = Rating>) -> CsatSummary {
        let mut summary = CsatSummary::default();
        for rating in ratings {
            summary.add(rating);
        }
        summary
    }

    pub fn add(&mut self, rating: Rating) {
        self.answered = self.answered.saturating_add(1);
        if rating == Rating::Good {
            self.good = self.good.saturating_add(1);
        }
    }

    /// The share of good answers in whole percent, rounded down (so one bad answer in
    /// a thousand never reads as 100%); `None` with no answer (no data is not a
    /// perfect score).
    pub fn percent_good(&self) -> Option<u32> {
        (self.answered > 0).then(|| (u64::from(self.good) * 100 / u64::from(self.answered)) as u32)
    }
}

/// The answers per priority, in [`Priority::ALL`] order (always four, so a quiet
/// priority shows as quiet). Each answer counts under its ticket's priority.
pub fn per_priority(answers: impl IntoIterator<Item = (Priority, Rating)>) -> [CsatSummary; 4] {
    let mut rows = [CsatSummary::default(); 4];
    for (priority, rating) in answers {
        rows[priority.index()].add(rating);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_round_trip_and_nothing_else_parses() {
        for rating in Rating::ALL {
            assert_eq!(Rating::parse(rating.as_str()), Some(rating));
        }
        for bad in ["", "Good", "5", "great", "good "] {
            assert_eq!(Rating::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_share_is_of_good_answers_rounded_down_and_none_without_answers() {
        assert_eq!(CsatSummary::default().percent_good(), None);
        let s = CsatSummary::of([Rating::Good, Rating::Okay, Rating::Bad]);
        assert_eq!(
            s,
            CsatSummary {
                answered: 3,
                good: 1
            }
        );
        assert_eq!(s.percent_good(), Some(33));
        let mut many = CsatSummary::of(std::iter::repeat_n(Rating::Good, 999));
        many.add(Rating::Bad);
        assert_eq!(
            many.percent_good(),
            Some(99),
            "never 100% with a bad answer"
        );
        assert_eq!(CsatSummary::of([Rating::Good]).percent_good(), Some(100));
        assert_eq!(CsatSummary::of([Rating::Okay]).percent_good(), Some(0));
    }

    #[test]
    fn answers_add_up_under_their_tickets_priority() {
        use Priority::*;
        let rows = per_priority([
            (P0, Rating::Good),
            (P0, Rating::Bad),
            (P2, Rating::Okay),
            (P0, Rating::Good),
        ]);
        assert_eq!(
            rows[0],
            CsatSummary {
                answered: 3,
                good: 2
            }
        );
        assert_eq!(rows[1], CsatSummary::default());
        assert_eq!(
            rows[2],
            CsatSummary {
                answered: 1,
                good: 0
            }
        );
        assert_eq!(rows[3], CsatSummary::default());
        assert_eq!(rows[0].percent_good(), Some(66));
    }
}
