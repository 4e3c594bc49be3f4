-- wrk script: GET /api/search over a rotating list of realistic queries (brands, dishes,
-- business districts, with and without city/category filters), so the index is not
-- asked the same thing 100,000 times. Non-2xx answers are counted by wrk.
-- With SEARCH_NEAR=1 in the environment every query also carries the searcher's position
-- (lat/lng around the three cities' districts, varying per request), as a phone sends it:
-- those pages are ranked by distance and never served from the first-page cache.
local queries = {
  {"火锅"}, {"海底捞"}, {"烤鸭"}, {"双人套餐"}, {"三里屯 火锅"}, {"奶茶"}, {"大床房"},
  {"陆家嘴 咖啡"}, {"小龙虾"}, {"剧本杀"}, {"串串香", "成都"}, {"酸菜鱼", "上海"},
  {"代金券", "北京", "catering"}, {"太二酸菜鱼"}, {"椰子鸡 四人餐"}, {"全季酒店"},
  {"春熙路"}, {"早茶点心"}, {"喜茶 水果茶"}, {"烧烤 夜宵套餐"}, {"美甲"}, {"亲子票"},
  {"望京 牛排"}, {"蟹黄面"}, {"麻辣香锅", "北京"}, {"欢唱 3小时套餐"}, {"鼎泰丰 小笼包"},
  {"hotpot"}, {"铜锅涮肉"}, {"五道口"},
}

local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local paths = {}
for _, q in ipairs(queries) do
  local p = "/api/search?limit=20&q=" .. encode(q[1])
  if q[2] then p = p .. "&city=" .. encode(q[2]) end
  if q[3] then p = p .. "&category=" .. q[3] end
  paths[#paths + 1] = p
end

local near = os.getenv("SEARCH_NEAR") == "1"
local centres = {{39.9334, 116.4543}, {31.2397, 121.4998}, {30.6570, 104.0817}, {39.9925, 116.3376},
                 {31.2304, 121.4737}, {30.5728, 104.0668}}

local n = 0
request = function()
  n = n + 1
  local p = paths[(n % #paths) + 1]
  if near then
    local c = centres[(math.floor(n / #paths) % #centres) + 1]
    local j = (n % 97) / 1000.0
    p = p .. string.format("&lat=%.5f&lng=%.5f", c[1] + j - 0.05, c[2] - j + 0.05)
  end
  return wrk.format("GET", p)
end
