-- hep3.lua — a HEP v3 (HEP3/EEP) dissector for tshark 4.0, which has none of its own:
-- it reads the generic chunks (vendor 0) into fields and hands the payload to Wireshark's
-- own SIP or MSRP dissector, chosen by the protocol type chunk, so that those (and their
-- malformed/expert checks) judge what rcsgw put inside. Decode a port with it:
--   tshark -X lua_script:tests/peers/tshark/hep3.lua -d udp.port==N,hep3 -r file
-- Frames that break the chunk framing get an error expert item (TSHARK_BAD matches).
-- The protocol type of MSRP is read from the Lua preference msrp_type (-o hep3.msrp_type:77).

local hep3 = Proto("hep3", "HEP3 capture")

local f = hep3.fields
f.length = ProtoField.uint16("hep3.length", "Total length")
f.family = ProtoField.uint8("hep3.family", "IP family")
f.ip_proto = ProtoField.uint8("hep3.ip_proto", "IP protocol")
f.src4 = ProtoField.ipv4("hep3.src_ip4", "Source IPv4")
f.dst4 = ProtoField.ipv4("hep3.dst_ip4", "Destination IPv4")
f.src6 = ProtoField.ipv6("hep3.src_ip6", "Source IPv6")
f.dst6 = ProtoField.ipv6("hep3.dst_ip6", "Destination IPv6")
f.sport = ProtoField.uint16("hep3.src_port", "Source port")
f.dport = ProtoField.uint16("hep3.dst_port", "Destination port")
f.ts = ProtoField.uint32("hep3.ts", "Seconds")
f.ts_us = ProtoField.uint32("hep3.ts_us", "Microseconds")
f.ptype = ProtoField.uint8("hep3.proto_type", "Protocol type")
f.capture = ProtoField.uint32("hep3.capture_id", "Capture agent id")
f.auth = ProtoField.string("hep3.auth_key", "Authentication key")
f.corr = ProtoField.string("hep3.correlation_id", "Correlation id")
f.payload = ProtoField.bytes("hep3.payload", "Payload")
f.other = ProtoField.uint16("hep3.other_chunk", "Other chunk type")

local e_bad = ProtoExpert.new("hep3.bad", "Broken HEP3 framing", expert.group.MALFORMED,
                              expert.severity.ERROR)
hep3.experts = { e_bad }

hep3.prefs.msrp_type = Pref.uint("MSRP protocol type", 77, "chunk 11 value of MSRP")

local by_type = {
  [1] = f.family, [2] = f.ip_proto, [3] = f.src4, [4] = f.dst4, [5] = f.src6, [6] = f.dst6,
  [7] = f.sport, [8] = f.dport, [9] = f.ts, [10] = f.ts_us, [11] = f.ptype,
  [12] = f.capture, [14] = f.auth, [17] = f.corr,
}
local size = { [1] = 1, [2] = 1, [3] = 4, [4] = 4, [5] = 16, [6] = 16, [7] = 2, [8] = 2,
                [9] = 4, [10] = 4, [11] = 1, [12] = 4 }

function hep3.dissector(tvb, pinfo, tree)
  if tvb:len() < 6 or tvb(0, 4):string() ~= "HEP3" then return 0 end
  local t = tree:add(hep3, tvb())
  pinfo.cols.protocol = "HEP3"
  local total = tvb(4, 2):uint()
  t:add(f.length, tvb(4, 2))
  if total ~= tvb:len() then
    t:add_proto_expert_info(e_bad, "length " .. total .. " but " .. tvb:len() .. " bytes")
    return tvb:len()
  end
  local off, ptype, pl = 6, nil, nil
  while off < total do
    if total - off < 6 then
      t:add_proto_expert_info(e_bad, "chunk header cut at " .. off)
      return total
    end
    local vendor, ctype, clen = tvb(off, 2):uint(), tvb(off + 2, 2):uint(), tvb(off + 4, 2):uint()
    if clen < 6 or off + clen > total then
      t:add_proto_expert_info(e_bad, "chunk " .. ctype .. " length " .. clen .. " at " .. off)
      return total
    end
    local v = tvb(off + 6, clen - 6)
    if vendor ~= 0 then
      t:add(f.other, tvb(off + 2, 2))
    elseif ctype == 15 then
      t:add(f.payload, v)
      pl = v
    elseif by_type[ctype] then
      if size[ctype] and size[ctype] ~= clen - 6 then
        t:add_proto_expert_info(e_bad, "chunk " .. ctype .. " of " .. (clen - 6) .. " bytes")
        return total
      end
      t:add(by_type[ctype], v)
      if ctype == 11 then ptype = v:uint() end
    else
      t:add(f.other, tvb(off + 2, 2))
    end
    off = off + clen
  end
  if pl then
    if ptype == 1 then
      Dissector.get("sip"):call(pl:tvb(), pinfo, tree)
    elseif ptype == hep3.prefs.msrp_type then
      Dissector.get("msrp"):call(pl:tvb(), pinfo, tree)
    end
  end
  return total
end

DissectorTable.get("udp.port"):add_for_decode_as(hep3)
