// semspace page: what the loaded run is, in plain words, from /api/info alone (no request, no DOM): the header's
// chips, what the run cannot do, the empty-results text, the collections a query searches by default and the
// placeholders. app.js lays these out; nothing here names a particular world or data set.
"use strict";

const Describe = (() => {
  const KIND = {
    image: ["picture", "pictures"], sketch: ["sketch", "sketches"], text: ["text", "texts"], features: ["vector", "vectors"],
  };
  // The capabilities of semspace/capabilities.py, as a person would say them (title: the longer story).
  const CAPABILITY = {
    compose: ["modify by words", "a picture query can be changed by a sentence saying what should differ"],
    translate: ["translate pictures", "draws the content of one picture in the style of another"],
    generate_query: ["sketch-to-photo queries", "a sketch is turned into a photo-like query before the search"],
  };
  const SEARCH_BY = { image: "a picture", sketch: "a drawing", text: "words" };
  const CANNOT = {
    image: "search by a picture", sketch: "search by a drawing", text: "search by words",
    translate: "translate pictures",
  };

  const kindWord = (kind, n) => (KIND[kind] || ["item", "items"])[n === 1 ? 0 : 1];
  const joinOr = (xs, word = "or") => (xs.length < 2 ? xs.join("") : `${xs.slice(0, -1).join(", ")} ${word} ${xs.at(-1)}`);
  const human = (name) => String(name).replace(/_/g, " ");

  /** The index's collections that hold items: [{name, kind, items}] (a task domain with no item is left out). */
  function collections(info) {
    const kinds = Object.fromEntries(info.domains.map((d) => [d.name, d.kind]));
    return Object.entries(info.index.domains)
      .filter(([, n]) => n > 0)
      .map(([name, items]) => ({ name, kind: kinds[name] || "", items }));
  }

  /** The header's chips: [{text, title, cls}]: the task, the items, each non-empty collection, each capability. */
  function chips(info) {
    const n = info.index.items;
    return [
      { text: info.task_title || info.task, title: `the run's method (task ${info.task})`, cls: "strong" },
      { text: `${n} item${n === 1 ? "" : "s"}`, title: "items in the index", cls: "" },
      ...collections(info).map((c) => ({
        text: `${c.name} · ${c.items} ${kindWord(c.kind, c.items)}`, title: `the collection ${c.name}`, cls: "muted",
      })),
      ...info.capabilities.map((c) => {
        const [text, title] = CAPABILITY[c] || [human(c), ""];
        return { text, title: title || text, cls: "accent" };
      }),
    ];
  }

  /** The header's tagline: the kinds of this run's domains ("one shared space for pictures and words"). */
  function tagline(info) {
    const words = [...new Set(info.domains.map((d) => kindWord(d.kind, 2)))];
    return words.length ? `one shared space for ${joinOr(words, "and")}` : "one shared space";
  }

  /** One plain line on the panels this run lacks ("" when it has all); its title keeps the reasons. */
  function unavailable(info) {
    const off = info.panels.filter((p) => !p.available);
    return {
      text: off.length ? `This run cannot ${joinOr(off.map((p) => CANNOT[p.name] || human(p.title).toLowerCase()))}.` : "",
      title: off.map((p) => `${p.title}: ${p.why}`).join("\n"),
    };
  }

  /** The results card's text before the first search: only what this run's panels take. */
  function emptyText(info) {
    const by = info.panels.filter((p) => p.available && SEARCH_BY[p.name]).map((p) => SEARCH_BY[p.name]);
    if (by.length) return `Search by ${joinOr(by)}: the closest items of the index show here. Click one to search from it.`;
    return "This run's page has no search: use the panel above.";
  }

  /** The collections a query of ``panel`` searches unless the user picks: those of another kind than the query
   * (the pictures, for a text or a sketch) when the index holds both; [] (everything) otherwise and for pictures. */
  function defaultCollections(info, panel) {
    if (panel !== "text" && panel !== "sketch") return [];
    const all = collections(info);
    const other = all.filter((c) => c.kind !== panel);
    return other.length && other.length < all.length ? other.map((c) => c.name) : [];
  }

  /** The name of a group of collections in the "search in" list ("all pictures", or their names). */
  function groupName(info, names) {
    const kinds = new Set(collections(info).filter((c) => names.includes(c.name)).map((c) => c.kind));
    return kinds.size === 1 && KIND[[...kinds][0]] ? `all ${KIND[[...kinds][0]][1]}` : names.join(" + ");
  }

  /** Placeholders: the text box shows an indexed text (``sample``, when the index has one), never another world's. */
  function placeholders(info, sample) {
    const pictures = collections(info).filter((c) => c.kind === "image").map((c) => c.name);
    return {
      text: sample || (pictures.length ? `describe a picture of ${joinOr(pictures)}` : "describe what you look for"),
      modify: "in a few words",
    };
  }

  /** A text collection to take the text box's placeholder from, or null. */
  function textCollection(info) {
    const texts = collections(info).filter((c) => c.kind === "text");
    return texts.length ? texts[0].name : null;
  }

  return { collections, chips, tagline, unavailable, emptyText, defaultCollections, groupName, placeholders, textCollection };
})();
