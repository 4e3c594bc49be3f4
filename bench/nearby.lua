-- wrk script: GET /api/nearby as phone users ask it: 2,000 fixed points (the same on
-- every run), six in ten inside the business districts where bench/gen-data puts the
-- stores (so a dense centre is asked often), three in ten anywhere in 北京, 上海 or 成都,
-- one in ten anywhere in eastern China (mostly no store near); radius 1–5 km, a quarter
-- of them with a category. Non-2xx answers are counted by wrk.
local districts = {
  {39.9334,116.4551},{39.9087,116.4605},{39.9962,116.4707},{39.9836,116.3164},{39.9927,116.3377},
  {39.9120,116.3736},{39.9139,116.4103},{39.9370,116.4033},{39.8936,116.4619},{40.0026,116.4095},
  {39.9841,116.4952},{39.8963,116.3976},
  {31.2397,121.4998},{31.1956,121.4367},{31.2236,121.4455},{31.2166,121.4741},{31.3017,121.5140},
  {31.2363,121.4776},{31.2197,121.4168},{31.1587,121.3498},{31.2158,121.5513},{31.1967,121.4016},
  {30.6570,104.0805},{30.6533,104.0830},{30.6333,104.0545},{30.6695,104.0560},{30.6437,104.0918},
  {30.6748,104.1050},{30.5830,104.0630},{30.6598,104.0633},{30.5720,103.9500},
}
-- min lat, max lat, min lng, max lng
local cities = {{39.75,40.10,116.20,116.65},{31.05,31.40,121.25,121.70},{30.50,30.78,103.90,104.20}}
local categories = {"catering","hotel","homestay","scenic","leisure","beauty","script_murder"}

math.randomseed(20211221)
local paths = {}
for i = 1, 2000 do
  local lat, lng
  local k = math.random()
  if k < 0.6 then
    local d = districts[math.random(#districts)]
    local r = 0.03 * math.sqrt(math.random())
    local a = 2 * math.pi * math.random()
    lat = d[1] + r * math.sin(a)
    lng = d[2] + r * math.cos(a) / math.cos(math.rad(d[1]))
  elseif k < 0.9 then
    local c = cities[math.random(#cities)]
    lat = c[1] + (c[2] - c[1]) * math.random()
    lng = c[3] + (c[4] - c[3]) * math.random()
  else
    lat = 22 + 19 * math.random()
    lng = 102 + 20 * math.random()
  end
  local p = string.format("/api/nearby?lat=%.5f&lng=%.5f&radius_m=%d", lat, lng, math.random(1000, 5000))
  if math.random() < 0.25 then p = p .. "&category=" .. categories[math.random(#categories)] end
  paths[i] = p
end

local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
