"""The public site's words, Vietnamese first, English at `?lang=en`."""

from __future__ import annotations

from typing import Literal

from domain.money import CATEGORIES, FUNDS

Lang = Literal["vi", "en"]

TEXTS: dict[str, tuple[str, str]] = {  # key → (Vietnamese, English)
    "site": ("Minh Bạch", "Minh Bạch"),
    "tagline": ("Sổ cái công khai các khoản ủng hộ trẻ em có hoàn cảnh khó khăn tỉnh Lạng Sơn",
                "The public ledger of donations for disadvantaged children in Lạng Sơn province"),
    "nav_overview": ("Tổng quan", "Overview"),
    "nav_donations": ("Các khoản ủng hộ", "Donations"),
    "nav_follow": ("Theo dõi khoản ủng hộ", "Follow a donation"),
    "nav_needs": ("Nhu cầu", "Needs"),
    "nav_verify": ("Kiểm chứng", "Verify"),
    "nav_partners": ("Tổ chức vận động", "Partner organisations"),
    "partners_intro": ("Các tổ chức vận động nguồn lực theo Kế hoạch: số tiền và hiện vật đã vận "
                       "động được, và nơi số tiền đó đã được phân bổ đến.",
                       "The organisations that mobilise resources under the plan: the money and "
                       "goods each mobilised, and where that money was allocated."),
    "partner": ("Tổ chức", "Organisation"),
    "nav_recognition": ("Tôn vinh", "Recognition"),
    "season_dates": ("Từ ngày {start} đến ngày {end}", "From {start} to {end}"),
    "season_open": ("Đang mở", "Open"),
    "season_closed": ("Đã khoá sổ", "Closed"),
    "after_closing": ("Ghi sau khi khoá sổ", "Recorded after closing"),
    "after_closing_intro": ("Các bút toán thuộc đợt này được ghi sổ sau khi đợt đã khoá sổ, mỗi "
                            "bút toán có lý do của quản trị viên (lưu kín trong sổ cái).",
                            "Entries of this season recorded after it was closed, each with an "
                            "administrator's reason (kept sealed in the ledger)."),
    "no_after_closing": ("Không có bút toán nào được ghi sau khi khoá sổ.",
                         "No entry was recorded after closing."),
    "entry_kind": ("Loại", "Kind"),
    "kind_receipt": ("Phiếu thu", "Receipt"),
    "kind_allocation": ("Phân bổ", "Allocation"),
    "kind_distribution": ("Cấp phát", "Distribution"),
    "kind_need": ("Nhu cầu", "Need"),
    "recorded_on": ("Ngày ghi sổ", "Recorded on"),
    "recognition_intro": ("Các nhà hảo tâm đồng ý công khai tên, theo tổng giá trị đã ủng hộ "
                          "(tiền và hiện vật), cùng hình thức tôn vinh. Nhà hảo tâm ẩn danh "
                          "không có trong danh sách.",
                          "The donors who agreed to be named, by the total they gave (money and "
                          "goods), with their commendation. Anonymous donors are not listed."),
    "recognition_tier": ("Hình thức tôn vinh", "Commendation"),
    "given": ("Đã ủng hộ", "Given"),
    "year": ("Năm", "Year"),
    "no_recognition": ("Chưa có nhà hảo tâm nào.", "No donor yet."),
    "cash": ("Tiền", "Money"),
    "unallocated": ("Chưa phân bổ", "Not yet allocated"),
    "partner_went": ("Nơi số tiền đã được phân bổ đến", "Where the money was allocated"),
    "no_partner_gifts": ("Chưa có khoản ủng hộ nào qua tổ chức này.",
                         "No donation came through this organisation yet."),
    "other_lang": ("English", "Tiếng Việt"),
    "season": ("Đợt", "Season"),
    "all_seasons": ("Tất cả", "All"),
    "show": ("Xem", "Show"),
    "pledged": ("Cam kết ủng hộ", "Pledged"),
    "received": ("Đã tiếp nhận", "Received"),
    "received_goods": ("Trong đó hiện vật (quy ra tiền)", "Of which goods (at their value)"),
    "allocated": ("Đã phân bổ", "Allocated"),
    "distributed": ("Đã cấp phát", "Distributed"),
    "remaining": ("Còn lại", "Remaining"),
    "children_reached": ("Số trẻ em được hỗ trợ", "Children reached"),
    "donors": ("Nhà tài trợ", "Donors"),
    "by_fund": ("Tiếp nhận theo quỹ", "Received by fund"),
    "by_category": ("Phân bổ theo nội dung hỗ trợ", "Allocated by category"),
    "by_district": ("Phân bổ theo huyện", "Allocated by district"),
    "over_time": ("Tiếp nhận theo tháng", "Received by month"),
    "needs_by_district": ("Nhu cầu đã được đáp ứng theo huyện", "Needs covered by district"),
    "chart_table": ("Số liệu của biểu đồ", "The chart's figures"),
    "overrides": ("Số lần hỗ trợ trùng có ghi lý do", "Duplicate support with a recorded reason"),
    "search": ("Tìm kiếm", "Search"),
    "search_name": ("Tên nhà tài trợ hoặc số phiếu thu", "Donor name or receipt reference"),
    "min_vnd": ("Từ số tiền (₫)", "Amount from (₫)"),
    "max_vnd": ("Đến số tiền (₫)", "Amount to (₫)"),
    "date_from": ("Từ ngày", "From"),
    "date_to": ("Đến ngày", "To"),
    "reference": ("Số phiếu thu", "Reference"),
    "donor": ("Nhà tài trợ", "Donor"),
    "fund": ("Quỹ", "Fund"),
    "amount": ("Số tiền", "Amount"),
    "date": ("Ngày", "Date"),
    "goods": ("Hiện vật", "Goods"),
    "earmarked": ("Chỉ định", "Earmarked for"),
    "none_found": ("Không tìm thấy khoản ủng hộ nào.", "No donation found."),
    "next_page": ("Trang sau", "Next page"),
    "first_page": ("Trang đầu", "First page"),
    "download_csv": ("Tải về CSV", "Download CSV"),
    "follow_intro": ("Nhập số phiếu thu (ví dụ PT-2021-000123) để xem tiền của bạn đã đến đâu.",
                     "Enter a receipt reference (e.g. PT-2021-000123) to see where the money went."),
    "follow": ("Theo dõi", "Follow"),
    "not_found": ("Không tìm thấy", "Not found"),
    "no_receipt": ("Không có phiếu thu nào mang số này.", "No receipt has this reference."),
    "reversed": ("Đã hủy bỏ (bút toán đảo)", "Reversed"),
    "where_went": ("Tiền đã đi đâu", "Where the money went"),
    "allocations": ("Phân bổ", "Allocations"),
    "distributions": ("Cấp phát", "Distributions"),
    "commune": ("Xã", "Commune"),
    "district": ("Huyện", "District"),
    "category": ("Nội dung", "Category"),
    "children": ("Trẻ em", "Children"),
    "decision": ("Quyết định", "Decision"),
    "not_yet_allocated": ("Khoản này chưa được phân bổ.", "Not allocated yet."),
    "not_yet_distributed": ("Chưa cấp phát.", "Nothing distributed yet."),
    "proof": ("Bằng chứng trong sổ cái công khai", "Proof in the public ledger"),
    "proof_checking": ("Đang kiểm tra bằng chứng…", "Checking the proof…"),
    "proof_ok": ("Khoản ủng hộ này có trong sổ cái công khai", "This donation is in the public ledger"),
    "proof_bad": ("Không xác minh được: bằng chứng không khớp với sổ cái công khai",
                  "Not verified: the proof does not match the public ledger"),
    "proof_none": ("Chưa có bằng chứng: sổ cái chưa công bố gốc mới nhất. Vui lòng thử lại sau ít giây.",
                   "No proof yet: the ledger has not published its latest root. Try again in a few seconds."),
    "proof_unwitnessed": ("Chưa có bằng chứng: khoản này chưa được các tổ chức chứng thực sổ cái xác nhận."
                          " Vui lòng quay lại sau.",
                          "No proof yet: the ledger's witnesses have not attested a root that holds"
                          " this donation. Please come back later."),
    "fork_alarm": ("Cảnh báo: sổ cái công khai đã bị thay đổi so với lần trước bạn xem. Hai bản ghi"
                   " dưới đây không thể cùng đúng.",
                   "Warning: the public ledger has changed since you last looked. The two records"
                   " below cannot both be true."),
    "fork_alarm_how": ("Xin hãy sao chép cả hai bản ghi và gửi cho Ủy ban MTTQ tỉnh hoặc báo chí.",
                       "Please copy both records and send them to the provincial Fatherland Front"
                       " committee or the press."),
    "fork_seen_before": ("Bản ghi bạn đã thấy lần trước", "The record you saw last time"),
    "fork_seen_now": ("Bản ghi trang này đưa ra bây giờ", "The record this page shows now"),
    "proof_noscript": ("Trình duyệt của bạn tắt JavaScript: hãy tự kiểm tra bằng các số liệu dưới đây"
                       " (xem trang Kiểm chứng).",
                       "JavaScript is off: check the figures below yourself (see the Verify page)."),
    "proof_how": ("Trình duyệt tính lại mã băm SHA-256 của khoản này và đường dẫn Merkle, rồi so với gốc"
                  " đã được ký của sổ cái.",
                  "Your browser recomputes this entry's SHA-256 hash and its Merkle path and compares"
                  " them with the ledger's signed root."),
    "tree_size": ("Số bút toán trong sổ cái", "Entries in the ledger"),
    "root_hash": ("Mã gốc (root hash)", "Root hash"),
    "signed_at": ("Ký lúc", "Signed at"),
    "signature": ("Chữ ký Ed25519", "Ed25519 signature"),
    "public_key": ("Khóa công khai", "Public key"),
    "leaf_index": ("Vị trí trong cây", "Leaf index"),
    "verify_intro": ("Mỗi bút toán của sổ cái là một lá của cây Merkle (RFC 9162). Gốc của cây được ký"
                     " bằng khóa dưới đây. Bất kỳ ai cũng có thể tải bản xuất công khai và tự kiểm tra.",
                     "Every ledger entry is a leaf of a Merkle tree (RFC 9162). The tree's root is signed"
                     " with the key below. Anyone can download the public export and check it."),
    "download_export": ("Tải bản xuất công khai", "Download the public export"),
    "all_heads": ("Tất cả các gốc đã ký (JSON)", "All signed roots (JSON)"),
    "how_to_verify": ("Cách tự kiểm tra", "How to check it yourself"),
    "no_head": ("Chưa có gốc nào được ký.", "No root has been signed yet."),
    "needs_intro": ("Nhu cầu được khảo sát theo xã và nội dung, và phần đã được phân bổ: nơi nào còn"
                    " thiếu hỗ trợ.",
                    "Needs surveyed per commune and category, and how much is allocated: where help is"
                    " still missing."),
    "asked": ("Nhu cầu (ước tính)", "Needed (estimate)"),
    "covered": ("Đã đáp ứng", "Covered"),
    "over_allocated": ("Vượt nhu cầu", "More than needed"),
    "override_allocations": ("Phân bổ ngoài danh sách xã đặc biệt khó khăn (quản trị cho phép)",
                             "Allocations outside the extremely difficult communes (admin override)"),
    "no_needs": ("Chưa có số liệu nhu cầu.", "No needs recorded."),
    "communes": ("Các xã", "Communes"),
    "extremely_difficult": ("Xã đặc biệt khó khăn", "Extremely difficult commune"),
    "place_totals": ("Số liệu của địa bàn", "Figures for this place"),
    "privacy_note": ("Không công bố thông tin cá nhân của trẻ em. Số trẻ dưới 5 của một xã và một nội"
                     " dung được ghi là “< 5”.",
                     "No child's personal data is published. Counts below 5 for one commune and category"
                     " are shown as “< 5”."),
    "demo_note": ("Dữ liệu mẫu", "Demo data"),
    "page_not_found": ("Không tìm thấy trang này.", "This page does not exist."),
    "home": ("Về trang chủ", "Back to the overview"),
    "anonymous": ("Ẩn danh", "Anonymous"),
    "api": ("API công khai", "Public API"),
}


def t(key: str, lang: Lang) -> str:
    vi, en = TEXTS[key]
    return en if lang == "en" else vi


def fund_name(code: str, lang: Lang) -> str:
    names = FUNDS.get(code)
    return names[f"name_{lang}"] if names else code


def category_name(code: str, lang: Lang) -> str:
    names = CATEGORIES.get(code)
    return names[f"name_{lang}"] if names else code
