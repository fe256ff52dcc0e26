//! Keyset pagination: `?limit=&after=<last id>`, ordered by id. Stable under
//! inserts and as fast on page 1,000 as on page 1 (an index seek, no OFFSET).

use serde::{Deserialize, Serialize};

use crate::types::Id;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageRequest {
    /// 1–[`MAX_LIMIT`]; anything else is refused when the query is read.
    #[serde(default, deserialize_with = "limit")]
    pub limit: Option<i64>,
    pub after: Option<Id>,
}

/// `?limit=` within 1–[`MAX_LIMIT`], or a clear error (never silently clamped).
fn limit<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = i64::deserialize(deserializer)?;
    if (1..=MAX_LIMIT).contains(&value) {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {value}"
        )))
    }
}

impl PageRequest {
    /// Rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch_limit(&self) -> i64 {
        self.page_size() + 1
    }

    pub fn page_size(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    pub fn after_id(&self) -> Id {
        self.after.unwrap_or(0)
    }
}

/// One page of a list endpoint; `next` is the `after` value for the next page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Id>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with [`PageRequest::fetch_limit`].
    pub fn from_rows(mut rows: Vec<T>, request: PageRequest, id_of: impl Fn(&T) -> Id) -> Page<T> {
        let size = usize::try_from(request.page_size()).unwrap_or(usize::MAX);
        let next = if rows.len() > size {
            rows.truncate(size);
            rows.last().map(&id_of)
        } else {
            None
        };
        Page { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_points_at_its_last_row() {
        let request = PageRequest {
            limit: Some(2),
            after: None,
        };
        let page = Page::from_rows(vec![1, 2, 3], request, |id| *id);
        assert_eq!(page.items, [1, 2]);
        assert_eq!(page.next, Some(2));
        let last = Page::from_rows(vec![3], request, |id| *id);
        assert_eq!(last.next, None);
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(
            PageRequest {
                limit: Some(0),
                after: None
            }
            .page_size(),
            1
        );
        assert_eq!(
            PageRequest {
                limit: Some(10_000),
                after: None
            }
            .page_size(),
            MAX_LIMIT
        );
        assert_eq!(PageRequest::default().page_size(), DEFAULT_LIMIT);
    }
}
