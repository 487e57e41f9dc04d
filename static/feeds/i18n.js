// Words in the page's language, from Django's JavaScript catalog (/jsi18n/<language>/, loaded
// before the modules); English without it.
const catalog = globalThis.django || {};

export const gettext = catalog.gettext || ((text) => text);
export const ngettext = catalog.ngettext || ((one, many, count) => (count === 1 ? one : many));
export const pgettext = catalog.pgettext || ((context, text) => text);
// Named placeholders, as in Python: format("%(count)s new", { count: 3 }).
export const format = (text, values) => text.replace(/%\((\w+)\)s/g, (match, name) => values[name] ?? match);
export const language = document.documentElement.lang || "en";
// Dates and numbers in the reader's own variant of the page's language (an en-GB browser reads an
// English feed's times on a 24-hour clock), else in the page's language.
export const locale =
  (navigator.languages || []).find((tag) => tag.split("-")[0] === language.split("-")[0]) || language;
