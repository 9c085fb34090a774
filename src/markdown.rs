//! The analyst's words: Markdown from the pipeline file rendered to HTML that can hold nothing
//! but text and its formatting. Raw HTML in the input is shown as text (escaped), images become
//! their alt text, links keep only `http:`, `https:`, `mailto:` and in-page `#` targets (any
//! other, such as `javascript:`, is dropped and its text kept), and headings start at `<h3>` so
//! they sit inside the report's sections. Characters XML cannot hold are replaced when the page
//! is written (`render::xml_clean`), as for every other text of a page.

use pulldown_cmark::{html, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Whether a link target is one a report may carry.
fn safe_target(dest: &str) -> bool {
    let d = dest.trim().to_ascii_lowercase();
    d.starts_with("https://")
        || d.starts_with("http://")
        || d.starts_with("mailto:")
        || d.starts_with('#')
}

/// A heading level moved down so that the analyst's `#` is the report's `<h3>`.
fn nested(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// Renders Markdown to safe HTML (see the module's opening comment).
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Links dropped at their start are dropped at their end too.
    let mut dropped_links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options).filter_map(|event| match event {
        Event::Html(s) | Event::InlineHtml(s) => Some(Event::Text(s)),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = safe_target(&dest_url);
            dropped_links.push(!keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => {
            let dropped = dropped_links.pop().unwrap_or(false);
            (!dropped).then_some(Event::End(TagEnd::Link))
        }
        Event::Start(Tag::Heading {
            level,
            id: _,
            classes,
            attrs: _,
        }) => Some(Event::Start(Tag::Heading {
            level: nested(level),
            id: None,
            classes,
            attrs: Vec::new(),
        })),
        Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(nested(level)))),
        Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => None,
        other => Some(other),
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_survives_and_nothing_executable_does() {
        let h = to_safe_html("## Findings\n\nUASC need **more** support.\n\n- one\n- two\n");
        assert!(h.contains("<h4>Findings</h4>"), "{h}");
        assert!(h.contains("<strong>more</strong>"));
        assert!(h.contains("<li>one</li>"));
        let h = to_safe_html("<script>alert(1)</script>\n\nText <img src=x onerror=alert(1)> here");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
        let h =
            to_safe_html("[bad](javascript:alert(1)) and [good](https://www.gov.uk) ![pic](x.png)");
        assert!(!h.contains("javascript"), "{h}");
        assert!(h.contains("bad"), "the text of a dropped link stays: {h}");
        assert!(h.contains("<a href=\"https://www.gov.uk\">good</a>"), "{h}");
        assert!(!h.contains("<img") && h.contains("pic"), "{h}");
        let h = to_safe_html("[x](JavaScript:alert(1))");
        assert!(!h.contains("<a"), "{h}");
    }
}
