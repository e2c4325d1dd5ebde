-- A headless Neovim session against `pmx lsp` (run by tests/lsp.rs): Neovim's own LSP client
-- opens PMX_FILE, waits for diagnostics, asks for hover and completion at the positions given,
-- replaces the lines from PMX_FIX_LINE with those of PMX_FIX_TEXT, waits for the diagnostics to clear, stops the
-- server and writes what it saw to PMX_OUT as JSON. Works with Neovim 0.7 and later.
local env = function(name) return os.getenv(name) end
local num = function(name) return tonumber(env(name)) end
local out = {}
local file = env("PMX_FILE")
vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
local exit_code = nil
local id = vim.lsp.start_client({
  name = "pmx",
  cmd = { env("PMX_BIN"), "lsp" },
  root_dir = vim.fn.fnamemodify(file, ":h"),
  on_exit = function(code) exit_code = code end,
})
vim.lsp.buf_attach_client(buf, id)

out.diagnostics_arrived = vim.wait(60000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
out.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(out.diagnostics, { lnum = d.lnum, col = d.col, message = d.message })
end

local client = vim.lsp.get_client_by_id(id)
local function at(line, character)
  return { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = line, character = character } }
end
local hover = client.request_sync("textDocument/hover", at(num("PMX_HOVER_LINE"), num("PMX_HOVER_COL")), 20000, buf)
out.hover = (hover and hover.result and hover.result.contents.value) or ""
local completion = client.request_sync("textDocument/completion", at(num("PMX_COMPLETE_LINE"), num("PMX_COMPLETE_COL")), 20000, buf)
out.completion = {}
local items = (completion and completion.result) or {}
for _, item in ipairs(items.items or items) do
  table.insert(out.completion, item.label)
end

-- An edit as a user makes it: Neovim sends the change (incrementally) and diagnostics follow.
local fix = num("PMX_FIX_LINE")
local lines = vim.split(env("PMX_FIX_TEXT"), "\n", true)
vim.api.nvim_buf_set_lines(buf, fix, fix + #lines, false, lines)
out.cleared = vim.wait(60000, function() return #vim.diagnostic.get(buf) == 0 end, 50)

client.stop()
vim.wait(20000, function() return exit_code ~= nil end, 50)
out.exit_code = exit_code or -1
vim.fn.writefile({ vim.fn.json_encode(out) }, env("PMX_OUT"))
vim.cmd("qa!")
