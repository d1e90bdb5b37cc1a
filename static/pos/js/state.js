// What the tablet knows: who is signed in, the menus, the floor and the open check.


export const state = {
  me: null, // {id, name, role}
  permissions: new Set(),
  screen: "loading",
  menus: [], // available now, from GET menus
  menusEtag: null,
  items: new Map(), // item id -> item (with .category and .menu)
  floor: null, // {seq, areas: [...], tabs: [...]}
  tables: new Map(), // table id -> table (from the floor)
  area: null, // the area tab shown
  check: null, // the check on screen (GET checks/{id})
  lastActivity: Date.now(),
  seq: 0, // the last realtime event applied
};

export function can(permission) {
  return state.permissions.has(permission);
}

/** Index the menus' items by id (each knows its category and menu) for search and scans. */
export function setMenus(body, etag) {
  state.menus = body.menus || [];
  state.menusEtag = etag || null;
  state.items = new Map();
  for (const menu of state.menus) {
    for (const category of menu.categories || []) {
      for (const item of category.items || []) {
        item.category = category;
        item.menu = menu;
        state.items.set(item.id, item);
      }
    }
  }
}

export function setFloor(body) {
  state.floor = body;
  state.tables = new Map();
  for (const area of body.areas || []) {
    for (const table of area.tables || []) {
      table.area = area.id;
      state.tables.set(table.id, table);
    }
  }
  if (!state.area || !(body.areas || []).some((a) => a.id === state.area)) {
    state.area = body.areas && body.areas.length ? body.areas[0].id : null;
  }
}

/** An item's PLU match (exact, case-insensitive), or null. */
export function itemByPlu(code) {
  const wanted = String(code || "").trim().toLowerCase();
  if (!wanted) return null;
  for (const item of state.items.values()) {
    if (String(item.plu).toLowerCase() === wanted) return item;
  }
  return null;
}

/** Navigation, filled in by main.js (so screens can call each other without import cycles). */
export const nav = {
  showFloor: () => {},
  openCheck: (_id) => {},
  lock: (_message) => {},
  openPay: (_id) => {},
  showClosed: () => {},
  showDrawer: () => {},
};
